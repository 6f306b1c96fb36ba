"""Runs of asv ``existing`` environments re-keyed from the interpreter path to Python + torch.

Ingest now stores them under ``existing-py<X.Y>-torch<version>`` (see
sqrtwatch.db.ingest.env_names); this moves runs stored earlier under asv's path-based
names there, so that older and newer runs stay in one series. Two runs of one
commit that meet in the same environment are merged as ingest would merge them:
the later-ingested run's values win. Alerts follow their runs; detection state
of the touched environments is dropped so that ``detect`` analyses them again.
No schema change; downgrade leaves the data as it is.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqrtwatch.db.ingest.env_names import stored_env_name

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

machines = sa.table("machines", sa.column("id"), sa.column("name"))
environments = sa.table(
    "environments",
    sa.column("id"),
    sa.column("machine_id"),
    sa.column("name"),
    sa.column("python"),
    sa.column("requirements", sa.JSON),
    sa.column("torch_version"),
    sa.column("torch_git_hash"),
    sa.column("build_variant"),
    sa.column("cpu_isa"),
    sa.column("math_libraries", sa.JSON),
)
runs = sa.table(
    "runs",
    sa.column("id"),
    sa.column("machine_id"),
    sa.column("environment_id"),
    sa.column("revision_id"),
    sa.column("context", sa.JSON),
    sa.column("ingested_at"),
    sa.column("torch_version"),
    sa.column("torch_git_hash"),
    sa.column("build_variant"),
    sa.column("cpu_isa"),
)
revisions = sa.table("revisions", sa.column("id"), sa.column("commit_hash"), sa.column("date"))
values = sa.table("result_values", sa.column("run_id"), sa.column("benchmark_id"), sa.column("params"))
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
    sa.column("commit_after"),
    sa.column("kind"),
)
detection_state = sa.table("detection_state", sa.column("machine"), sa.column("env_name"))


def upgrade() -> None:
    connection = op.get_bind()
    candidates = connection.execute(
        sa.select(
            environments.c.id,
            environments.c.machine_id,
            environments.c.name,
            environments.c.python,
            machines.c.name,
        )
        .join(machines, machines.c.id == environments.c.machine_id)
        .where(environments.c.name.like("existing-py%"))
    ).all()
    for env_id, machine_id, name, python, machine in candidates:
        env_runs = connection.execute(
            sa.select(runs.c.id, runs.c.revision_id, runs.c.context, revisions.c.commit_hash)
            .join(revisions, revisions.c.id == runs.c.revision_id)
            .where(runs.c.environment_id == env_id)
        ).all()
        targets: dict[str, int] = {}
        for run_id, revision_id, context, commit in env_runs:
            label = stored_env_name(name, python, context)
            if label == name:
                continue
            if label not in targets:
                targets[label] = _environment(connection, machine_id, label, env_id)
            _move_run(connection, run_id, revision_id, targets[label])
            _move_alerts(connection, machine, name, label, commit)
        if not targets:
            continue
        for target in targets.values():
            _refresh_environment(connection, target)
        if (
            connection.execute(sa.select(sa.func.count()).where(runs.c.environment_id == env_id)).scalar()
            == 0
        ):
            connection.execute(environments.delete().where(environments.c.id == env_id))
        connection.execute(
            detection_state.delete().where(
                detection_state.c.machine == machine, detection_state.c.env_name.in_([name, *targets])
            )
        )


def downgrade() -> None:
    # The path a run came from is still in runs.results_file; re-keying back is not worth it.
    pass


def _environment(connection, machine_id: int, label: str, source_id: int) -> int:
    """The id of environment ``label`` on the machine, created like the source one if absent."""
    found = connection.execute(
        sa.select(environments.c.id).where(
            environments.c.machine_id == machine_id, environments.c.name == label
        )
    ).scalar()
    if found is not None:
        return found
    source = connection.execute(
        sa.select(environments.c.python, environments.c.requirements).where(environments.c.id == source_id)
    ).one()
    connection.execute(
        environments.insert().values(
            machine_id=machine_id, name=label, python=source.python, requirements=source.requirements
        )
    )
    return connection.execute(
        sa.select(environments.c.id).where(
            environments.c.machine_id == machine_id, environments.c.name == label
        )
    ).scalar_one()


def _move_run(connection, run_id: int, revision_id: int, target: int) -> None:
    """Put run ``run_id`` into environment ``target``, merging it with the run of its commit there."""
    other = connection.execute(
        sa.select(runs.c.id, runs.c.ingested_at).where(
            runs.c.environment_id == target, runs.c.revision_id == revision_id
        )
    ).first()
    if other is not None:
        mine = connection.execute(sa.select(runs.c.ingested_at).where(runs.c.id == run_id)).scalar()
        # As at ingest, the later file wins: the other run's rows fill only what this one lacks.
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


def _move_alerts(connection, machine: str, old_name: str, label: str, commit: str) -> None:
    """Alerts first seen at ``commit`` in the old environment follow the run there (a duplicate goes)."""
    moving = connection.execute(
        sa.select(alerts.c.id, alerts.c.benchmark, alerts.c.params, alerts.c.kind).where(
            alerts.c.machine == machine, alerts.c.env_name == old_name, alerts.c.commit_after == commit
        )
    ).all()
    for alert_id, benchmark, params, kind in moving:
        clash = connection.execute(
            sa.select(alerts.c.id).where(
                alerts.c.machine == machine,
                alerts.c.env_name == label,
                alerts.c.benchmark == benchmark,
                alerts.c.params == params,
                alerts.c.commit_after == commit,
                alerts.c.kind == kind,
            )
        ).first()
        if clash is None:
            connection.execute(alerts.update().where(alerts.c.id == alert_id).values(env_name=label))
        else:
            connection.execute(alerts.delete().where(alerts.c.id == alert_id))


def _refresh_environment(connection, env_id: int) -> None:
    """The environment's torch fields from its run of the latest commit, as ingest keeps them."""
    latest = connection.execute(
        sa.select(
            runs.c.torch_version, runs.c.torch_git_hash, runs.c.build_variant, runs.c.cpu_isa, runs.c.context
        )
        .join(revisions, revisions.c.id == runs.c.revision_id)
        .where(runs.c.environment_id == env_id)
        .order_by(revisions.c.date.desc(), runs.c.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return
    context = latest.context if isinstance(latest.context, dict) else {}
    connection.execute(
        environments.update()
        .where(environments.c.id == env_id)
        .values(
            torch_version=latest.torch_version,
            torch_git_hash=latest.torch_git_hash,
            build_variant=latest.build_variant,
            cpu_isa=latest.cpu_isa,
            math_libraries=context.get("math_libraries"),
        )
    )
