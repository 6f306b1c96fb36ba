"""Initial schema: machines, environments, revisions, benchmarks, runs, values, accuracy, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:36:58.481519
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=1000), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("machine", sa.String(length=255), nullable=False),
        sa.Column("env_name", sa.String(length=1000), nullable=False),
        sa.Column("commit_before", sa.String(length=64), nullable=True),
        sa.Column("commit_after", sa.String(length=64), nullable=False),
        sa.Column("value_before", sa.Float(), nullable=True),
        sa.Column("value_after", sa.Float(), nullable=True),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triaged_by", sa.String(length=255), nullable=True),
        sa.Column("triage_note", sa.Text(), nullable=True),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "benchmark",
            "params",
            "machine",
            "env_name",
            "commit_after",
            "kind",
            name=op.f("uq_alerts_benchmark_params_machine_env_name_commit_after_kind"),
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_status", ["status"], unique=False)

    op.create_table(
        "benchmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("param_names", sa.JSON(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("in_suite", sa.Boolean(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmarks")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_benchmarks_name_version")),
    )
    with op.batch_alter_table("benchmarks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benchmarks_name"), ["name"], unique=False)

    op.create_table(
        "machines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("arch", sa.Text(), nullable=True),
        sa.Column("cpu", sa.Text(), nullable=True),
        sa.Column("num_cpu", sa.Text(), nullable=True),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("ram", sa.Text(), nullable=True),
        sa.Column("machine_json", sa.JSON(), nullable=True),
        sa.Column("cpu_model", sa.Text(), nullable=True),
        sa.Column("cpu_count", sa.Integer(), nullable=True),
        sa.Column("cuda_devices", sa.JSON(), nullable=True),
        sa.Column("mps_device", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machines")),
        sa.UniqueConstraint("name", name=op.f("uq_machines_name")),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commit_hash", sa.String(length=64), nullable=False),
        sa.Column("date", sa.BigInteger(), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("commit_hash", name=op.f("uq_revisions_commit_hash")),
    )
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revisions_date"), ["date"], unique=False)

    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("python", sa.Text(), nullable=True),
        sa.Column("requirements", sa.JSON(), nullable=True),
        sa.Column("torch_version", sa.Text(), nullable=True),
        sa.Column("torch_git_hash", sa.Text(), nullable=True),
        sa.Column("build_variant", sa.Text(), nullable=True),
        sa.Column("cpu_isa", sa.Text(), nullable=True),
        sa.Column("math_libraries", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_id"], ["machines.id"], name=op.f("fk_environments_machine_id_machines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("machine_id", "name", name=op.f("uq_environments_machine_id_name")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("results_file", sa.Text(), nullable=True),
        sa.Column("env_vars", sa.JSON(), nullable=True),
        sa.Column("durations", sa.JSON(), nullable=True),
        sa.Column("torch_version", sa.String(length=128), nullable=True),
        sa.Column("torch_git_hash", sa.Text(), nullable=True),
        sa.Column("build_variant", sa.String(length=64), nullable=True),
        sa.Column("cpu_isa", sa.String(length=64), nullable=True),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("profile", sa.String(length=32), nullable=True),
        sa.Column("sqrtwatch_commit", sa.String(length=64), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_runs_environment_id_environments")
        ),
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_runs_machine_id_machines")),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_runs_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint(
            "machine_id",
            "environment_id",
            "revision_id",
            name=op.f("uq_runs_machine_id_environment_id_revision_id"),
        ),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_revision_id"), ["revision_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_runs_torch_version"), ["torch_version"], unique=False)

    op.create_table(
        "accuracy_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("impl", sa.String(length=255), nullable=False),
        sa.Column("dtype", sa.String(length=32), nullable=False),
        sa.Column("device", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("torch_version", sa.String(length=128), nullable=True),
        sa.Column("inputs_tested", sa.BigInteger(), nullable=True),
        sa.Column("mismatches", sa.BigInteger(), nullable=True),
        sa.Column("mismatch_fraction", sa.Float(), nullable=True),
        sa.Column("max_ulp", sa.Float(), nullable=True),
        sa.Column("mean_ulp", sa.Float(), nullable=True),
        sa.Column("worst_input_bits", sa.String(length=64), nullable=True),
        sa.Column("special_tested", sa.Integer(), nullable=True),
        sa.Column("special_failed", sa.Integer(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_accuracy_results_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accuracy_results")),
        sa.UniqueConstraint(
            "run_id",
            "impl",
            "dtype",
            "device",
            "mode",
            name=op.f("uq_accuracy_results_run_id_impl_dtype_device_mode"),
        ),
    )
    op.create_table(
        "ingested_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("stat_signature", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_ingested_files_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingested_files")),
        sa.UniqueConstraint("path", name=op.f("uq_ingested_files_path")),
    )
    op.create_table(
        "result_values",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("param_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ci_99_a", sa.Float(), nullable=True),
        sa.Column("ci_99_b", sa.Float(), nullable=True),
        sa.Column("q_25", sa.Float(), nullable=True),
        sa.Column("q_75", sa.Float(), nullable=True),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("repeat", sa.BigInteger(), nullable=True),
        sa.Column("n_samples", sa.Integer(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["benchmark_id"], ["benchmarks.id"], name=op.f("fk_result_values_benchmark_id_benchmarks")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_result_values_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_values")),
        sa.UniqueConstraint(
            "benchmark_id", "params", "run_id", name=op.f("uq_result_values_benchmark_id_params_run_id")
        ),
    )
    with op.batch_alter_table("result_values", schema=None) as batch_op:
        batch_op.create_index("ix_result_values_run_id", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("result_values", schema=None) as batch_op:
        batch_op.drop_index("ix_result_values_run_id")

    op.drop_table("result_values")
    op.drop_table("ingested_files")
    op.drop_table("accuracy_results")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_torch_version"))
        batch_op.drop_index(batch_op.f("ix_runs_revision_id"))

    op.drop_table("runs")
    op.drop_table("environments")
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revisions_date"))

    op.drop_table("revisions")
    op.drop_table("machines")
    with op.batch_alter_table("benchmarks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benchmarks_name"))

    op.drop_table("benchmarks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status")

    op.drop_table("alerts")
