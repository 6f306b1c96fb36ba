"""Detection state remembers the newest run it covered: ``detect`` reads only the end of grown histories.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detection_state") as batch:
        batch.add_column(sa.Column("newest_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detection_state") as batch:
        batch.drop_column("newest_run_id")
