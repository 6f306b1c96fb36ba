"""Continuous history: every run kept, series per hardware, torch upgrades inside a series.

- ``runs.measured_at`` (the latest ``started_at`` of the run's values; 0 when none)
  joins the run key, so several runs of one commit are kept; ``runs.hardware`` is
  the run's hardware label (``hardware_label`` of its context or asv machine fields).
- ``existing-py<X.Y>-torch<version>`` environments become ``existing-py<X.Y>``:
  an in-place torch upgrade goes on in the same series. Runs that meet there with
  the same key merge as ingest merges them (the later-ingested values win).
- Alerts get hardware, source (``series``/``upgrade``), the runs on either side
  and a cause; their key uses the first run after instead of the commit.
- Detection state is keyed by hardware too; it is cleared, so that the next
  ``detect`` analyses everything again.
- ``ingested_files.content_hash`` is indexed: content decides what is already loaded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqrtwatch.db.ingest.env_names import without_torch
from sqrtwatch.db.ingest.run_context import hardware_label

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

machines = sa.table("machines", sa.column("id"), sa.column("name"))
environments = sa.table("environments", sa.column("id"), sa.column("machine_id"), sa.column("name"))
runs = sa.table(
    "runs",
    sa.column("id"),
    sa.column("machine_id"),
    sa.column("environment_id"),
    sa.column("revision_id"),
    sa.column("measured_at"),
    sa.column("hardware"),
    sa.column("context", sa.JSON),
    sa.column("ingested_at"),
)
revisions = sa.table("revisions", sa.column("id"), sa.column("commit_hash"))
values = sa.table(
    "result_values",
    sa.column("run_id"),
    sa.column("benchmark_id"),
    sa.column("params"),
    sa.column("started_at"),
)
accuracy = sa.table(
    "accuracy_results",
    sa.column("run_id"),
    sa.column("impl"),
    sa.column("dtype"),
    sa.column("device"),
    sa.column("mode"),
)
files = sa.table("ingested_files", sa.column("run_id"))
alerts = sa.table(
    "alerts",
    sa.column("id"),
    sa.column("benchmark"),
    sa.column("params"),
    sa.column("machine"),
    sa.column("env_name"),
    sa.column("hardware"),
    sa.column("commit_before"),
    sa.column("commit_after"),
    sa.column("run_before_id"),
    sa.column("run_after_id"),
    sa.column("kind"),
)
detection_state = sa.table("detection_state", sa.column("id"))


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("measured_at", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("hardware", sa.String(length=255), server_default="", nullable=False))
    connection = op.get_bind()
    _fill_runs(connection)
    _merge_existing_environments(connection)
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_machine_id_environment_id_revision_id", type_="unique")
        batch.create_unique_constraint(
            "uq_runs_machine_id_environment_id_revision_id_measured_at",
            ["machine_id", "environment_id", "revision_id", "measured_at"],
        )

    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("hardware", sa.String(length=255), server_default="", nullable=False))
        batch.add_column(sa.Column("source", sa.String(length=16), server_default="series", nullable=False))
        batch.add_column(sa.Column("run_before_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("run_after_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cause", sa.JSON(none_as_null=True), nullable=True))
    _fill_alerts(connection)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_benchmark_params_machine_env_name_commit_after_kind", type_="unique")
        batch.create_unique_constraint(
            "uq_alerts_benchmark_params_machine_env_name_hardware_source_run_after_id_kind",
            ["benchmark", "params", "machine", "env_name", "hardware", "source", "run_after_id", "kind"],
        )

    connection.execute(detection_state.delete())
    with op.batch_alter_table("detection_state") as batch:
        batch.add_column(sa.Column("hardware", sa.String(length=255), server_default="", nullable=False))
        batch.drop_constraint("uq_detection_state_machine_env_name", type_="unique")
        batch.create_unique_constraint(
            "uq_detection_state_machine_env_name_hardware", ["machine", "env_name", "hardware"]
        )

    with op.batch_alter_table("ingested_files") as batch:
        batch.create_index("ix_ingested_files_content_hash", ["content_hash"])


def downgrade() -> None:
    with op.batch_alter_table("ingested_files") as batch:
        batch.drop_index("ix_ingested_files_content_hash")
    with op.batch_alter_table("detection_state") as batch:
        batch.drop_constraint("uq_detection_state_machine_env_name_hardware", type_="unique")
        batch.drop_column("hardware")
        batch.create_unique_constraint("uq_detection_state_machine_env_name", ["machine", "env_name"])
    # Runs of one commit and alerts at one commit would clash with the old keys: keep the newest.
    op.get_bind().execute(
        alerts.delete().where(
            alerts.c.id.not_in(
                sa.select(sa.func.max(alerts.c.id)).group_by(
                    alerts.c.benchmark,
                    alerts.c.params,
                    alerts.c.machine,
                    alerts.c.env_name,
                    alerts.c.commit_after,
                    alerts.c.kind,
                )
            )
        )
    )
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(
            "uq_alerts_benchmark_params_machine_env_name_hardware_source_run_after_id_kind", type_="unique"
        )
        for column in ("cause", "run_after_id", "run_before_id", "source", "hardware"):
            batch.drop_column(column)
        batch.create_unique_constraint(
            "uq_alerts_benchmark_params_machine_env_name_commit_after_kind",
            ["benchmark", "params", "machine", "env_name", "commit_after", "kind"],
        )
    connection = op.get_bind()
    newest = sa.select(sa.func.max(runs.c.id)).group_by(
        runs.c.machine_id, runs.c.environment_id, runs.c.revision_id
    )
    dropped = [row[0] for row in connection.execute(sa.select(runs.c.id).where(runs.c.id.not_in(newest)))]
    for table in (values, accuracy, files):
        connection.execute(table.delete().where(table.c.run_id.in_(dropped)))
    connection.execute(runs.delete().where(runs.c.id.in_(dropped)))
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_machine_id_environment_id_revision_id_measured_at", type_="unique")
        batch.drop_column("hardware")
        batch.drop_column("measured_at")
        batch.create_unique_constraint(
            "uq_runs_machine_id_environment_id_revision_id", ["machine_id", "environment_id", "revision_id"]
        )


def _fill_runs(connection) -> None:
    """Each run's measured_at (latest started_at of its values) and hardware label."""
    latest = (
        sa.select(sa.func.coalesce(sa.func.max(values.c.started_at), 0))
        .where(values.c.run_id == runs.c.id)
        .scalar_subquery()
    )
    connection.execute(runs.update().values(measured_at=latest))
    machine_json = sa.table("machines", sa.column("id"), sa.column("machine_json", sa.JSON))
    machine_fields = {
        machine_id: info if isinstance(info, dict) else {}
        for machine_id, info in connection.execute(sa.select(machine_json.c.id, machine_json.c.machine_json))
    }
    rows = connection.execute(sa.select(runs.c.id, runs.c.machine_id, runs.c.context)).all()
    for run_id, machine_id, context in rows:
        label = hardware_label(context, machine_fields.get(machine_id))
        if label:
            connection.execute(runs.update().where(runs.c.id == run_id).values(hardware=label))


def _merge_existing_environments(connection) -> None:
    """Move runs of ``existing-py<X.Y>-torch<V>`` environments to ``existing-py<X.Y>``."""
    named = connection.execute(
        sa.select(environments.c.id, environments.c.machine_id, environments.c.name, machines.c.name)
        .join(machines, machines.c.id == environments.c.machine_id)
        .where(environments.c.name.like("existing-py%"))
        .order_by(environments.c.id)
    ).all()
    for env_id, machine_id, name, machine in named:
        target_name = without_torch(name)
        if target_name == name:
            continue
        target = _environment(connection, machine_id, target_name, env_id)
        if target == env_id:
            continue
        env_runs = connection.execute(
            sa.select(runs.c.id, runs.c.revision_id, runs.c.measured_at).where(
                runs.c.environment_id == env_id
            )
        ).all()
        for run_id, revision_id, measured_at in env_runs:
            _move_run(connection, run_id, revision_id, measured_at, target)
        _rename_alerts(connection, machine, name, target_name)
        connection.execute(environments.delete().where(environments.c.id == env_id))


def _environment(connection, machine_id: int, name: str, source_id: int) -> int:
    """The id of environment ``name`` on the machine; the source environment is renamed if absent."""
    found = connection.execute(
        sa.select(environments.c.id).where(
            environments.c.machine_id == machine_id, environments.c.name == name
        )
    ).scalar()
    if found is not None:
        return found
    connection.execute(environments.update().where(environments.c.id == source_id).values(name=name))
    return source_id


def _move_run(connection, run_id: int, revision_id: int, measured_at: int, target: int) -> None:
    """Put run ``run_id`` into environment ``target``, merged with a run of the same key there."""
    other = connection.execute(
        sa.select(runs.c.id, runs.c.ingested_at).where(
            runs.c.environment_id == target,
            runs.c.revision_id == revision_id,
            runs.c.measured_at == measured_at,
        )
    ).first()
    if other is not None:
        mine = connection.execute(sa.select(runs.c.ingested_at).where(runs.c.id == run_id)).scalar()
        keep, drop = (run_id, other.id) if mine >= other.ingested_at else (other.id, run_id)
        _merge_rows(connection, values, ("benchmark_id", "params"), keep, drop)
        _merge_rows(connection, accuracy, ("impl", "dtype", "device", "mode"), keep, drop)
        connection.execute(files.update().where(files.c.run_id == drop).values(run_id=keep))
        connection.execute(runs.delete().where(runs.c.id == drop))
        run_id = keep
    connection.execute(runs.update().where(runs.c.id == run_id).values(environment_id=target))


def _merge_rows(connection, table, key: tuple[str, ...], keep: int, drop: int) -> None:
    kept = table.alias("kept")
    duplicate = sa.exists().where(kept.c.run_id == keep, *(kept.c[k] == table.c[k] for k in key))
    connection.execute(table.delete().where(table.c.run_id == drop, duplicate))
    connection.execute(table.update().where(table.c.run_id == drop).values(run_id=keep))


def _rename_alerts(connection, machine: str, old_name: str, new_name: str) -> None:
    """Alerts of the old environment move with it; one that clashes with an alert there goes."""
    moving = connection.execute(
        sa.select(
            alerts.c.id, alerts.c.benchmark, alerts.c.params, alerts.c.commit_after, alerts.c.kind
        ).where(alerts.c.machine == machine, alerts.c.env_name == old_name)
    ).all()
    for alert_id, benchmark, params, commit, kind in moving:
        clash = connection.execute(
            sa.select(alerts.c.id).where(
                alerts.c.machine == machine,
                alerts.c.env_name == new_name,
                alerts.c.benchmark == benchmark,
                alerts.c.params == params,
                alerts.c.commit_after == commit,
                alerts.c.kind == kind,
            )
        ).first()
        if clash is None:
            connection.execute(alerts.update().where(alerts.c.id == alert_id).values(env_name=new_name))
        else:
            connection.execute(alerts.delete().where(alerts.c.id == alert_id))


def _fill_alerts(connection) -> None:
    """Each alert's runs (its environment's latest run of each commit) and their hardware."""
    stored = connection.execute(
        sa.select(
            alerts.c.id, alerts.c.machine, alerts.c.env_name, alerts.c.commit_before, alerts.c.commit_after
        )
    ).all()
    for alert_id, machine, env_name, commit_before, commit_after in stored:
        before, after = (_run_of(connection, machine, env_name, c) for c in (commit_before, commit_after))
        hardware = ""
        if after is not None:
            hardware = connection.execute(sa.select(runs.c.hardware).where(runs.c.id == after)).scalar() or ""
        connection.execute(
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(run_before_id=before, run_after_id=after, hardware=hardware)
        )


def _run_of(connection, machine: str, env_name: str, commit: str | None) -> int | None:
    if commit is None:
        return None
    return connection.execute(
        sa.select(sa.func.max(runs.c.id))
        .join(machines, machines.c.id == runs.c.machine_id)
        .join(environments, environments.c.id == runs.c.environment_id)
        .join(revisions, revisions.c.id == runs.c.revision_id)
        .where(machines.c.name == machine, environments.c.name == env_name, revisions.c.commit_hash == commit)
    ).scalar()
