"""Continuous history: every run kept, content decides what is loaded, series per hardware."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from sqrtwatch.archive import ARCHIVE_DIR_NAME, archive_run
from sqrtwatch.db.detection.series import environment_histories
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.queries import runs as query_runs
from sqrtwatch.db.schema.engine import alembic_config, connect
from sqrtwatch.db.schema.models import Environment, Run
from tests.asv_history import MACHINE, START, BenchmarkSpec, commit_hash, write_run
from tests.db_helpers import exported

SPECS = [BenchmarkSpec("bench_throughput.Sqrt.time_sqrt", [["'float32'", "'float64'"]], ["dtype"])]
NAME = SPECS[0].name
CONTEXT = {"python": "3.11.7", "torch_version": "2.13.0+cpu", "cpu_model": "AMD EPYC", "cpu_count": 2}


def night(k: int) -> dt.datetime:
    """The start of the k-th nightly run."""
    return START + dt.timedelta(days=k, hours=2)


def _values(engine, benchmark: str = NAME) -> list[tuple[str, float]]:
    return sorted(
        (json.dumps(r["params"]), r["value"]) for r in exported(engine) if r["benchmark"] == benchmark
    )


def test_n_runs_at_one_commit_are_n_points_and_reingest_adds_nothing(tmp_path, db_url):
    results = tmp_path / "results"
    engine = connect(db_url)
    for k, value in enumerate((1e-4, 2e-4, 3e-4)):
        # asv overwrites the same <commit>-<env>.json each night at an unchanged commit.
        write_run(results, SPECS, {NAME: [value, value * 2]}, night(k), context=CONTEXT)
        report = ingest_results_dir(engine, results)
        assert (report.files_loaded, report.errors) == (1, [])
    again = ingest_results_dir(engine, results)
    assert (again.files_loaded, again.files_unchanged) == (0, 1)
    assert len(_values(engine)) == 6
    with Session(engine) as session:
        runs = query_runs(session)
        (history,) = environment_histories(session)
    assert len(runs) == 3 and runs["commit_hash"].nunique() == 1
    assert list(runs["run_time"]) == sorted(runs["run_time"])
    assert [len(series.values) for series in history.series] == [3, 3]
    engine.dispose()


def test_the_archive_keeps_overwritten_runs_and_rebuilds_the_database(tmp_path, sqlite_url):
    results = tmp_path / "results"
    for k in range(2):
        path = write_run(results, SPECS, {NAME: [1e-4 * (k + 1), 1e-4]}, night(k), context=CONTEXT)
        archive_run(results, MACHINE, path.stem)
    assert len(list((results / ARCHIVE_DIR_NAME / MACHINE).glob("*.json"))) == 2
    # A database built from the files alone: the live file holds the second run only.
    engine = connect(sqlite_url)
    report = ingest_results_dir(engine, results)
    # The live file and its archived copy hold the same content: loaded once.
    assert (report.files_loaded, report.files_unchanged, report.errors) == (2, 1, [])
    assert len(_values(engine)) == 4
    assert ingest_results_dir(engine, results).files_loaded == 0
    engine.dispose()


def _same_size_variant(text: str) -> str:
    """The results file's text with other values of the same length (1.5e-4 written as 2.5e-4)."""
    changed = text.replace("0.00015", "0.00025")
    assert changed != text and len(changed) == len(text)
    return changed


def test_a_second_directory_with_the_same_names_sizes_and_times_is_loaded(tmp_path, sqlite_url):
    first, second = tmp_path / "a" / "results", tmp_path / "b" / "results"
    path_a = write_run(first, SPECS, {NAME: [1.5e-4, 1e-4]}, night(0))
    shutil.copytree(first, second)
    path_b = second / MACHINE / path_a.name
    # Another night's run: other values, another start time, the same number of characters.
    started = [str(int(night(k).timestamp() * 1000)) for k in (0, 1)]
    path_b.write_text(_same_size_variant(path_a.read_text()).replace(*started))
    stat = path_a.stat()
    os.utime(path_b, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    engine = connect(sqlite_url)
    assert ingest_results_dir(engine, first).files_loaded == 1
    assert ingest_results_dir(engine, second).files_loaded == 1
    assert [v for _, v in _values(engine)] == [1.5e-4, 2.5e-4, 1e-4, 1e-4]
    engine.dispose()


def test_a_file_rewritten_in_place_with_its_old_size_and_mtime_is_loaded(tmp_path, sqlite_url):
    results = tmp_path / "results"
    path = write_run(results, SPECS, {NAME: [1.5e-4, 1e-4]}, night(0))
    engine = connect(sqlite_url)
    ingest_results_dir(engine, results)
    stat, text = path.stat(), path.read_text()
    # A later run at the same start time (a clock reset) gives a same-size file.
    path.write_text(_same_size_variant(text))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert ingest_results_dir(engine, results).files_loaded == 1
    # Same run key (same started_at): the file is the truth, its values replace the old ones.
    assert [v for _, v in _values(engine)] == [2.5e-4, 1e-4]
    engine.dispose()


def test_values_asv_carried_over_belong_to_the_run_that_measured_them(tmp_path, sqlite_url):
    """asv keeps in a rewritten file the benchmarks it did not run again: they are not new points."""
    specs = [*SPECS, BenchmarkSpec("bench_throughput.Copy.time_copy")]
    results = tmp_path / "results"
    engine = connect(sqlite_url)
    write_run(results, specs, {NAME: [1e-4, 2e-4], specs[1].name: [5e-5]}, night(0))
    ingest_results_dir(engine, results)
    # The second run measured only time_sqrt; time_copy is carried with its old started_at.
    write_run(
        results,
        specs,
        {NAME: [1.1e-4, 2.1e-4], specs[1].name: [5e-5]},
        night(1),
        started_by_benchmark={specs[1].name: night(0)},
    )
    ingest_results_dir(engine, results)
    assert len(_values(engine, NAME)) == 4
    assert len(_values(engine, specs[1].name)) == 1
    engine.dispose()


def test_plain_asv_results_without_context_ingest(tmp_path, sqlite_url):
    results = tmp_path / "results"
    for k in range(2):
        write_run(results, SPECS, {NAME: [1e-4, 2e-4]}, night(k))
        engine = connect(sqlite_url)
        ingest_results_dir(engine, results)
    with Session(engine) as session:
        runs = session.scalars(sa.select(Run)).all()
    assert [(run.context, run.hardware) for run in runs] == [(None, ""), (None, "")]
    assert len(_values(engine)) == 4
    engine.dispose()


def test_one_machine_name_over_two_cpu_models_gives_two_series(tmp_path, sqlite_url):
    """A hosted-runner pool: one name, CPUs alternating; each CPU's runs form their own series."""
    results = tmp_path / "results"
    engine = connect(sqlite_url)
    for k in range(8):
        fast = k % 2 == 0
        context = CONTEXT | {"cpu_model": "AMD EPYC 7763" if fast else "Intel Xeon 8272CL", "cpu_count": 4}
        value = 1e-4 if fast else 2e-4
        write_run(results, SPECS, {NAME: [value, value]}, night(k), commit=commit_hash(k), context=context)
        ingest_results_dir(engine, results)
    with Session(engine) as session:
        histories = list(environment_histories(session))
    assert sorted(h.hardware for h in histories) == ["AMD EPYC 7763 x4", "Intel Xeon 8272CL x4"]
    assert all(
        len(series.values) == 4 and len(set(series.values)) == 1 for h in histories for series in h.series
    )
    engine.dispose()


def test_existing_environments_lose_their_torch_part_in_the_migration(tmp_path, sqlite_url):
    """A database of 0004 (one environment per torch version) keeps its runs, in one environment."""
    results = tmp_path / "results"
    engine = connect(sqlite_url)
    path_env = "existing-py_usr_bin_python3"
    for k, version in enumerate(("2.13.0+cpu", "2.14.1+cpu")):
        context = CONTEXT | {"torch_version": version}
        write_run(
            results, SPECS, {NAME: [1e-4, 1e-4]}, night(k), commit_hash(k), env_name=path_env, context=context
        )
    ingest_results_dir(engine, results)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
        # As 0004 stored them: existing-py<X.Y>-torch<version>, one environment per version.
        environment = connection.execute(sa.text("SELECT id, machine_id FROM environments")).one()
        connection.execute(
            sa.text("UPDATE environments SET name = 'existing-py3.11-torch2.13.0+cpu' WHERE id = :id"),
            {"id": environment.id},
        )
        connection.execute(
            sa.text(
                "INSERT INTO environments (machine_id, name) VALUES (:m, 'existing-py3.11-torch2.14.1+cpu')"
            ),
            {"m": environment.machine_id},
        )
        connection.execute(
            sa.text(
                "UPDATE runs SET environment_id = (SELECT max(id) FROM environments) "
                "WHERE torch_version = '2.14.1+cpu'"
            )
        )
    engine.dispose()
    engine = connect(sqlite_url)  # upgrades to head
    with Session(engine) as session:
        assert session.scalars(sa.select(Environment.name)).all() == ["existing-py3.11"]
        runs = session.scalars(sa.select(Run).order_by(Run.measured_at)).all()
    assert [run.torch_version for run in runs] == ["2.13.0+cpu", "2.14.1+cpu"]
    assert all(run.measured_at > 0 and run.hardware == "AMD EPYC x2" for run in runs)
    assert len(_values(engine)) == 4
    engine.dispose()


def test_carried_over_values_go_back_to_an_earlier_run_ingested_later(tmp_path, sqlite_url):
    specs = [*SPECS, BenchmarkSpec("bench_throughput.Copy.time_copy")]
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    write_run(earlier, specs, {NAME: [1e-4, 2e-4], specs[1].name: [5e-5]}, night(0))
    write_run(
        later,
        specs,
        {NAME: [1.1e-4, 2.1e-4], specs[1].name: [5e-5]},
        night(1),
        started_by_benchmark={specs[1].name: night(0)},
    )
    engine = connect(sqlite_url)
    for results in (later, earlier):
        assert ingest_results_dir(engine, results).files_loaded == 1
    assert len(_values(engine, NAME)) == 4
    assert len(_values(engine, specs[1].name)) == 1
    engine.dispose()
