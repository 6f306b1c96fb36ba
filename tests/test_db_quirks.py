"""Legacy and odd asv results (tests/data/asv_quirks): every value exactly as written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import sqlalchemy as sa

from sqrtwatch.db.ingest.asv_results import load_json_bytes, parse_benchmarks_json, parse_results
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from sqrtwatch.db.schema.models import Benchmark, Environment, Machine, Revision
from tests.db_helpers import exported

QUIRKS = Path(__file__).parent / "data" / "asv_quirks" / "results"
A = "aaaaaaaa00000000000000000000000000000001"
B = "bbbbbbbb00000000000000000000000000000002"
INF = "inf"

# (commit, env, benchmark, params, status, value, ci_99_a, ci_99_b, q_25, q_75,
#  number, repeat, n_samples, started_at, duration, version), in export order.
EXPECTED = [
    # Format 1: per-benchmark dicts, one stats dict per combination, "n" = sample count.
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "1", "kind": "'a'"},
        "ok",
        1.0,
        0.9,
        1.1,
        0.95,
        1.05,
        3,
        2,
        7,
        None,
        None,
        "v1",
    ),
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "1", "kind": "'b'"},
        "failed",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "v1",
    ),
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "1", "kind": "'c'"},
        "skipped",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "v1",
    ),
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "2", "kind": "'a'"},
        "ok",
        4.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "v1",
    ),
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "2", "kind": "'b'"},
        "ok",
        5.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "v1",
    ),
    (
        A,
        "py3.8",
        "suite.time_params",
        {"n": "2", "kind": "'c'"},
        "ok",
        6.0,
        5.5,
        6.5,
        None,
        None,
        None,
        None,
        4,
        None,
        None,
        "v1",
    ),
    # A bare-number result, and a bare null for a benchmark benchmarks.json no longer has.
    (
        A,
        "py3.8",
        "suite.time_plain",
        {},
        "ok",
        0.5,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        1500000100000,
        None,
        "p1",
    ),
    (
        A,
        "py3.8",
        "suite.time_removed",
        {},
        "failed",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
    # A single stats dict (not a list) with infinite bounds.
    (
        A,
        "py3.8",
        "suite.track_value",
        {},
        "ok",
        3.0,
        "-inf",
        INF,
        None,
        None,
        None,
        None,
        1,
        None,
        None,
        None,
    ),
    # Format 2: params benchmarks.json does not match get asv's default names.
    (
        B,
        "virtualenv-py3.11",
        "suite.time_other_params",
        {"param1": "10"},
        "ok",
        7.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
    (
        B,
        "virtualenv-py3.11",
        "suite.time_other_params",
        {"param1": "20"},
        "ok",
        8.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ),
    # A short row (no quartiles) and a result list covering 3 of 6 combinations.
    (
        B,
        "virtualenv-py3.11",
        "suite.time_params",
        {"n": "1", "kind": "'a'"},
        "ok",
        1.5,
        1.4,
        1.6,
        None,
        None,
        None,
        None,
        None,
        1600000100000,
        2.0,
        "v2",
    ),
    (
        B,
        "virtualenv-py3.11",
        "suite.time_params",
        {"n": "1", "kind": "'b'"},
        "ok",
        2.5,
        "-inf",
        INF,
        None,
        None,
        None,
        None,
        None,
        1600000100000,
        2.0,
        "v2",
    ),
    (
        B,
        "virtualenv-py3.11",
        "suite.time_params",
        {"n": "1", "kind": "'c'"},
        "ok",
        3.5,
        3.4,
        3.6,
        None,
        None,
        None,
        None,
        None,
        1600000100000,
        2.0,
        "v2",
    ),
    (
        B,
        "virtualenv-py3.11",
        "suite.time_plain",
        {},
        "failed",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        1600000200000,
        1.0,
        "p1",
    ),
    (
        B,
        "virtualenv-py3.11",
        "suite.track_value",
        {},
        "skipped",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "t1",
    ),
]
FIELDS = (
    "commit_hash",
    "env_name",
    "benchmark",
    "params",
    "status",
    "value",
    "ci_99_a",
    "ci_99_b",
    "q_25",
    "q_75",
    "number",
    "repeat",
    "n_samples",
    "started_at",
    "duration",
    "benchmark_version",
)


@pytest.fixture
def quirks_engine(db_url):
    engine = connect(db_url)
    report = ingest_results_dir(engine, QUIRKS)
    assert report.errors == [] and report.files_loaded == 2
    yield engine
    engine.dispose()


def test_every_value_comes_back_exactly(quirks_engine):
    records = exported(quirks_engine)
    assert [tuple(record[field] for field in FIELDS) for record in records] == EXPECTED
    # The commit date, not when the benchmarks ran; the machine name keeps its dots.
    assert {(r["commit_hash"], r["date"]) for r in records} == {(A, 1500000000000), (B, 1600000000000)}
    assert {r["machine"] for r in records} == {"host.with.dots"}
    units = {r["benchmark"]: r["unit"] for r in records}
    # From benchmarks.json, or implied by the name for a removed benchmark.
    assert units == {
        "suite.time_params": "seconds",
        "suite.time_plain": "seconds",
        "suite.time_removed": "seconds",
        "suite.track_value": "ulp",
        "suite.time_other_params": "seconds",
    }


def test_stale_and_removed_benchmarks_are_kept_and_marked(quirks_engine):
    with quirks_engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                Benchmark.name, Benchmark.version, Benchmark.in_suite, Benchmark.stale, Benchmark.param_names
            )
        ).all()
    flags = {(name, version): (in_suite, stale, names) for name, version, in_suite, stale, names in rows}
    assert flags[("suite.time_params", "v1")] == (True, True, ["n", "kind"])
    assert flags[("suite.time_params", "v2")] == (True, False, ["n", "kind"])
    assert flags[("suite.time_removed", "")] == (False, False, [])
    assert flags[("suite.time_other_params", "")] == (True, False, ["param1"])


def test_minimal_machine_and_legacy_environment(quirks_engine):
    with quirks_engine.connect() as connection:
        machine = connection.execute(sa.select(Machine.name, Machine.arch, Machine.machine_json)).one()
        environments = connection.execute(
            sa.select(Environment.name, Environment.python).order_by(Environment.name)
        ).all()
        revisions = connection.execute(
            sa.select(Revision.commit_hash, Revision.date).order_by(Revision.date)
        ).all()
    assert machine == ("host.with.dots", None, {"machine": "host.with.dots"})
    # Format 1 files had no env_name: asv named the file after the environment.
    assert environments == [("py3.8", "3.8"), ("virtualenv-py3.11", "3.11")]
    assert revisions == [(A, 1500000000000), (B, 1600000000000)]


def test_parsed_files_pickle_exactly_for_the_writer_process():
    suite = parse_benchmarks_json(json.loads((QUIRKS / "benchmarks.json").read_text()))
    for path in sorted((QUIRKS / "host.with.dots").glob("*-*.json")):
        parsed = parse_results(load_json_bytes(path.read_bytes()), path.name, suite, "host.with.dots")
        assert pickle.loads(pickle.dumps(parsed)) == parsed
