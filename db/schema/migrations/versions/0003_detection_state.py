"""Detection state per machine and environment: ``detect`` skips the unchanged ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detection_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine", sa.String(length=255), nullable=False),
        sa.Column("env_name", sa.String(length=1000), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_state")),
        sa.UniqueConstraint("machine", "env_name", name=op.f("uq_detection_state_machine_env_name")),
    )


def downgrade() -> None:
    op.drop_table("detection_state")
