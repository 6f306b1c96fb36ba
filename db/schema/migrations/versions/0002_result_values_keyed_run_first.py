"""Result values keyed (run, benchmark, params): ingest appends to the index instead of
touching one page per series; the separate run_id index becomes redundant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:03:16.841878
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("result_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_values_run_id"))
        batch_op.drop_constraint(batch_op.f("uq_result_values_benchmark_id_params_run_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_result_values_run_id_benchmark_id_params"), ["run_id", "benchmark_id", "params"]
        )


def downgrade() -> None:
    with op.batch_alter_table("result_values", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_result_values_run_id_benchmark_id_params"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_result_values_benchmark_id_params_run_id"), ["benchmark_id", "params", "run_id"]
        )
        batch_op.create_index(batch_op.f("ix_result_values_run_id"), ["run_id"], unique=False)
