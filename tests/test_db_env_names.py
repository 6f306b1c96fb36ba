"""Runs of asv's ``existing`` environment land in one series whatever the checkout path."""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
from pathlib import Path

import sqlalchemy as sa
import torch
from alembic import command
from asv.environment import get_env_name
from sqlalchemy.orm import Session

from sqrtwatch.context import CONTEXT_DIR_NAME
from sqrtwatch.db.detection.series import environment_histories
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.queries import runs as query_runs
from sqrtwatch.db.schema.engine import alembic_config, connect
from sqrtwatch.db.schema.models import Alert, Environment, Run

CLONE_PYTHON = "/tmp/some-clone/.venv/bin/python3"
OTHER_COMMIT = "f" * 40
# Python major.minor only: an in-place torch upgrade stays in the series (issue 12).
STABLE_NAME = f"existing-py{'.'.join(platform.python_version_tuple()[:2])}"


def _as_if_run_from(results: Path, out: Path, python: str, commit: str | None = None) -> Path:
    """A copy of the real results ``results`` as asv writes them when run by interpreter ``python``.

    asv names the existing environment, and so the results file, after the interpreter path;
    ``commit`` also moves the run to another (later) commit.
    """
    shutil.copytree(results, out)
    env_name = get_env_name("existing", python.replace("/", "_"), {}, {})
    for results_file in sorted(out.glob("*/*-existing-*.json")):
        data = json.loads(results_file.read_text())
        data.update(env_name=env_name, python=python)
        data["params"]["python"] = python
        if commit is not None:
            data.update(commit_hash=commit, date=data["date"] + 3_600_000)
        stem = f"{data['commit_hash'][:8]}-{env_name}"
        results_file.unlink()
        (results_file.parent / f"{stem}.json").write_text(json.dumps(data))
        context_file = out / CONTEXT_DIR_NAME / results_file.parent.name / results_file.name
        context_file.rename(context_file.with_name(f"{stem}.json"))
    return out


def test_runs_from_two_checkout_paths_share_one_series(asv_results, tmp_path):
    clone = _as_if_run_from(asv_results, tmp_path / "clone", CLONE_PYTHON, commit=OTHER_COMMIT)
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for results in (asv_results, clone):
        report = ingest_results_dir(engine, results)
        assert not report.errors and report.files_loaded == 1
    with Session(engine) as session:
        runs = query_runs(session)
        histories = list(environment_histories(session))
    assert len(runs) == 2 and set(runs["env_name"]) == {STABLE_NAME}
    assert [h.env_name for h in histories] == [STABLE_NAME]
    ok_series = [s for s in histories[0].series if s.ok.all()]
    assert ok_series and all(len(s.values) == 2 for s in ok_series)
    engine.dispose()


def test_a_second_checkout_at_the_same_commit_replaces_the_run(asv_results, tmp_path):
    clone = _as_if_run_from(asv_results, tmp_path / "clone", CLONE_PYTHON)
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for results in (asv_results, clone):
        assert ingest_results_dir(engine, results).files_loaded == 1
    with Session(engine) as session:
        names = session.scalars(sa.select(Environment.name)).all()
        results_files = session.scalars(sa.select(Run.results_file)).all()
    assert names == [STABLE_NAME]
    assert len(results_files) == 1 and "some-clone" in results_files[0]
    engine.dispose()


def test_migration_rekeys_runs_stored_under_path_names(asv_results, tmp_path):
    """A database filled before 0004 (one environment per path) ends with one environment, alerts moved."""
    clone = _as_if_run_from(asv_results, tmp_path / "clone", CLONE_PYTHON, commit=OTHER_COMMIT)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = connect(url)
    for results in (asv_results, clone):
        ingest_results_dir(engine, results)
    clone_name = get_env_name("existing", CLONE_PYTHON.replace("/", "_"), {}, {})
    original = json.loads(next(asv_results.glob("*/*-existing-*.json")).read_text())
    with engine.begin() as connection:
        # Back to the schema and names before 0004: asv's path-based names, one environment each.
        command.downgrade(alembic_config(connection), "0004")
        environment = connection.execute(sa.select(Environment.id, Environment.machine_id)).one()
        connection.execute(
            sa.update(Environment).values(name=original["env_name"], python=original["python"])
        )
        clone_env = connection.execute(
            sa.insert(Environment)
            .values(machine_id=environment.machine_id, name=clone_name, python=CLONE_PYTHON)
            .returning(Environment.id)
        ).scalar_one()
        connection.execute(
            sa.update(Run).where(Run.results_file.contains("some-clone")).values(environment_id=clone_env)
        )
        machine = connection.execute(sa.text("SELECT name FROM machines")).scalar_one()
        # The alerts table as 0004 left it (the model has 0005's columns).
        columns = ("benchmark", "params", "machine", "env_name", "commit_after", "kind", "status")
        old_alerts = sa.table("alerts", *map(sa.column, (*columns, "detected_at", "resolved")))
        connection.execute(
            sa.insert(old_alerts).values(
                detected_at=dt.datetime.now(dt.timezone.utc),
                resolved=False,
                benchmark="b",
                params="{}",
                machine=machine,
                env_name=clone_name,
                commit_after=OTHER_COMMIT,
                kind="regression",
                status="acknowledged",
            )
        )
        command.stamp(alembic_config(connection), "0003")
    engine.dispose()

    engine = connect(url)  # upgrades to head
    with Session(engine) as session:
        assert session.scalars(sa.select(Environment.name)).all() == [STABLE_NAME]
        assert len(session.scalars(sa.select(Run.id)).all()) == 2
        alert = session.scalars(sa.select(Alert)).one()
        assert (alert.env_name, alert.status) == (STABLE_NAME, "acknowledged")
        environment = session.scalars(sa.select(Environment)).one()
        assert environment.torch_version == torch.__version__
    engine.dispose()
