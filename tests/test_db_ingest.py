"""Ingestion behaviour: idempotence, bad files, context files, concurrency, the CLI, export formats."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from sqrtwatch.db.export import ExportError, export_values
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from sqrtwatch.db.schema.models import AccuracyResult, Environment, Machine, Run
from tests.conftest import REPO_ROOT, run_sqrtwatch
from tests.db_helpers import exported, table_counts

QUIRKS = Path(__file__).parent / "data" / "asv_quirks" / "results"
MACHINE_DIR = "host.with.dots"
B_FILE = "bbbbbbbb-virtualenv-py3.11.json"

CONTEXT = {
    "format_version": 1,
    "python": "3.11.7",
    "torch_version": "2.13.0+cpu",
    "torch_git_hash": "cf30153c",
    "build_variant": "cpu",
    "cpu_model": "Example CPU",
    "cpu_count": 8,
    "cpu_isa": "AVX512",
    "math_libraries": {"mkl": "2024.2"},
    "threads": 4,
    "cuda_devices": [],
    "mps_device": None,
    "profile": "quick",
    "sqrtwatch_commit": "0123abcd",
    "accuracy": [
        {
            "impl": "torch.sqrt",
            "dtype": "float32",
            "device": "cpu",
            "torch_version": "2.13.0+cpu",
            "mode": "exhaustive",
            "inputs_tested": 4294967296,
            "mismatches": 0,
            "mismatch_fraction": 0.0,
            "max_ulp": 0.5,
            "mean_ulp": float("nan"),
            "worst_input_bits": "0x3f800001",
            "special_values": {"tested": 12, "failed": 0, "cases": []},
            "elapsed_s": 41.5,
            "fingerprint": "extra fields are kept",
        }
    ],
}


@pytest.fixture
def quirks(tmp_path) -> Path:
    """A private copy of the hand-written quirks results directory."""
    return Path(shutil.copytree(QUIRKS, tmp_path / "results"))


def _synthetic():
    spec = importlib.util.spec_from_file_location(
        "synthetic_history", REPO_ROOT / "scripts" / "synthetic_history.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reingesting_adds_nothing(db_url, quirks):
    engine = connect(db_url)
    first = ingest_results_dir(engine, quirks)
    counts, values = table_counts(engine), exported(engine)
    # Unchanged files are skipped; a copy with new mtimes only is recognised by content.
    again = ingest_results_dir(engine, quirks)
    for path in quirks.rglob("*.json"):
        os.utime(path, (1, 1))
    copied = ingest_results_dir(engine, quirks)
    assert (first.files_loaded, again.files_unchanged, copied.files_unchanged) == (2, 2, 2)
    assert table_counts(engine) == counts and exported(engine) == values
    engine.dispose()


def test_nested_copies_of_a_results_tree_are_known_apart(sqlite_url, quirks, tmp_path):
    """Two trees with the same <machine>/<file> names (collected CI artifacts) each keep their own signature."""
    copy = Path(shutil.copytree(quirks, tmp_path / "artifact-2"))
    for path in copy.rglob("*.json"):
        os.utime(path, (1, 1))
    copy.rename(quirks / "artifact-2")
    engine = connect(sqlite_url)
    ingest_results_dir(engine, quirks)
    again = ingest_results_dir(engine, quirks)
    with engine.connect() as connection:
        keys = set(connection.execute(sa.text("SELECT path FROM ingested_files")).scalars())
    # Known by absolute path (the same content in both trees is loaded once).
    assert keys == {
        str((quirks / prefix / MACHINE_DIR / name).resolve())
        for prefix in ("", "artifact-2")
        for name in ("aaaaaaaa-py3.8.json", B_FILE)
    }
    assert (again.files_loaded, again.files_unchanged) == (0, 4)
    engine.dispose()


def test_a_rerun_benchmark_replaces_its_values(sqlite_url, quirks):
    engine = connect(sqlite_url)
    ingest_results_dir(engine, quirks)
    path = quirks / MACHINE_DIR / B_FILE
    data = json.loads(path.read_text())
    data["results"]["suite.time_params"][0] = [9.5, 2.5, 3.5]
    data["results"]["suite.time_new"] = [[0.25], []]
    path.write_text(json.dumps(data))
    report = ingest_results_dir(engine, quirks)
    assert (report.files_loaded, report.files_unchanged) == (1, 1)
    values = {
        (r["benchmark"], json.dumps(r["params"])): r["value"]
        for r in exported(engine)
        if r["commit_hash"].startswith("b")
    }
    assert values[("suite.time_params", '{"n": "1", "kind": "\'a\'"}')] == 9.5
    assert values[("suite.time_new", "{}")] == 0.25
    engine.dispose()


def test_a_corrupt_file_is_reported_and_the_others_load(db_url, quirks):
    bad = quirks / MACHINE_DIR / "cccccccc-virtualenv-py3.11.json"
    bad.write_text((quirks / MACHINE_DIR / B_FILE).read_text()[:300])
    wrong_type = quirks / MACHINE_DIR / "dddddddd-virtualenv-py3.11.json"
    data = json.loads((quirks / MACHINE_DIR / B_FILE).read_text().replace("NaN", "null"))
    data["commit_hash"] = "d" * 40
    data["results"]["suite.time_plain"][3] = "yesterday"  # started_at
    wrong_type.write_text(json.dumps(data))
    engine = connect(db_url)
    report = ingest_results_dir(engine, quirks)
    assert report.files_loaded == 2
    reasons = {error.path.name: error.reason for error in report.errors}
    assert set(reasons) == {bad.name, wrong_type.name}
    assert "invalid JSON" in reasons[bad.name]
    assert "started_at should be an integer, not str" in reasons[wrong_type.name]
    assert str(bad) in next(str(error) for error in report.errors)
    # Nothing of either bad file was written.
    assert {r["commit_hash"][0] for r in exported(engine)} == {"a", "b"}
    engine.dispose()


def test_cli_exits_non_zero_naming_the_bad_file(quirks, sqlite_url):
    bad = quirks / MACHINE_DIR / "cccccccc-virtualenv-py3.11.json"
    bad.write_bytes(b"\xff\xfe not json")
    result = run_sqrtwatch("ingest", str(quirks), "--db", sqlite_url, check=False)
    assert result.returncode == 1
    assert f"error: {bad}: not UTF-8 text" in result.stderr
    assert "from 2 results files" in result.stdout
    exported_lines = run_sqrtwatch("export", "--db", sqlite_url).stdout.splitlines()
    assert len(exported_lines) == 16


def test_unreadable_side_files_skip_their_results(sqlite_url, quirks, tmp_path):
    (quirks / MACHINE_DIR / "machine.json").write_text("{")
    engine = connect(sqlite_url)
    report = ingest_results_dir(engine, quirks)
    assert report.files_loaded == 0
    assert [(e.path.name, "machine.json" in str(e)) for e in report.errors] == [("machine.json", True)]
    empty = ingest_results_dir(engine, tmp_path / "nothing-here")
    assert "no asv results here" in str(empty.errors[0])
    engine.dispose()


def test_context_files_fill_machine_environment_run_and_accuracy(db_url, quirks):
    context_file = quirks / "sqrtwatch-context" / MACHINE_DIR / B_FILE
    context_file.parent.mkdir(parents=True)
    context_file.write_text(json.dumps(CONTEXT))
    engine = connect(db_url)
    assert ingest_results_dir(engine, quirks).errors == []
    with engine.connect() as connection:
        machine = connection.execute(sa.select(Machine.cpu_model, Machine.cpu_count)).one()
        env = connection.execute(
            sa.select(Environment.torch_version, Environment.build_variant, Environment.cpu_isa).where(
                Environment.name == "virtualenv-py3.11"
            )
        ).one()
        runs = dict(connection.execute(sa.select(Run.results_file, Run.torch_version)).all())
        accuracy = connection.execute(
            sa.select(
                AccuracyResult.dtype,
                AccuracyResult.inputs_tested,
                AccuracyResult.max_ulp,
                AccuracyResult.special_tested,
                AccuracyResult.mean_ulp,
                AccuracyResult.detail,
            )
        ).one()
    assert machine == ("Example CPU", 8)
    assert env == ("2.13.0+cpu", "cpu", "AVX512")
    assert runs == {f"{MACHINE_DIR}/{B_FILE}": "2.13.0+cpu", f"{MACHINE_DIR}/aaaaaaaa-py3.8.json": None}
    assert accuracy[:5] == ("float32", 2**32, 0.5, 12, None)
    assert accuracy.detail["fingerprint"] == "extra fields are kept" and accuracy.detail["mean_ulp"] == "NaN"
    engine.dispose()


def test_a_bad_context_file_keeps_its_results_file_out(sqlite_url, quirks):
    context_file = quirks / "sqrtwatch-context" / MACHINE_DIR / B_FILE
    context_file.parent.mkdir(parents=True)
    context_file.write_text(json.dumps({**CONTEXT, "accuracy": [{"dtype": 32}]}))
    engine = connect(sqlite_url)
    report = ingest_results_dir(engine, quirks)
    assert report.files_loaded == 1
    assert [str(e) for e in report.errors] == [
        f"{context_file}: context accuracy[0] dtype should be a string, not int; {B_FILE} was not loaded"
    ]
    engine.dispose()


def test_export_filters_and_csv(sqlite_url, quirks):
    engine = connect(sqlite_url)
    ingest_results_dir(engine, quirks)
    records = exported(engine, benchmark=r"track_", machine="host.with.dots")
    assert [(r["benchmark"], r["status"]) for r in records] == [
        ("suite.track_value", "ok"),
        ("suite.track_value", "skipped"),
    ]
    assert exported(engine, machine="elsewhere") == []
    stream = io.StringIO()
    assert export_values(engine, stream, fmt="csv", benchmark=r"time_params$") == 9
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert len(rows) == 9 and rows[0]["params"] == '{"n":"1","kind":"\'a\'"}' and rows[0]["value"] == "1.0"
    assert rows[1]["status"] == "failed" and rows[1]["value"] == ""
    with pytest.raises(ExportError, match="invalid --benchmark regular expression"):
        export_values(engine, io.StringIO(), benchmark="(")
    engine.dispose()


@pytest.mark.slow
def test_concurrent_ingests_into_one_sqlite_file_lose_nothing(tmp_path):
    synthetic = _synthetic()
    dirs = []
    for i in range(2):
        out = tmp_path / f"results{i}"
        # Enough files that each ingest also parses in worker processes.
        synthetic.write_history(out, commits=52, benchmarks=5, n_samples=3, seed=i, machine_name=f"host-{i}")
        dirs.append(out)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # Two ingests of different machines, and a third racing on the same files as the first.
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "sqrtwatch", "ingest", str(path), "--db", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (dirs[0], dirs[1], dirs[0])
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    engine = connect(url)
    counts = table_counts(engine)
    assert counts["runs"] == 104 and counts["result_values"] == 2 * 52 * 5 * 10
    assert counts["machines"] == 2
    engine.dispose()


@pytest.mark.slow
def test_large_directories_report_bad_files_from_parser_workers(tmp_path):
    synthetic = _synthetic()
    files = synthetic.write_history(tmp_path / "results", commits=55, benchmarks=3, n_samples=0)
    files[7].write_text("{")
    engine = connect(f"sqlite:///{tmp_path / 'big.db'}")
    report = ingest_results_dir(engine, tmp_path / "results", progress=True)
    assert (report.files_loaded, report.values_loaded) == (54, 54 * 3 * 10)
    assert [str(error) for error in report.errors] == [
        f"{files[7]}: invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    ]
    engine.dispose()


def test_unicode_names_round_trip_and_keep_jsonl_one_record_per_line(sqlite_url, quirks):
    path = quirks / MACHINE_DIR / B_FILE
    data = json.loads(path.read_text())
    name = "caf\u00e9\u2028host\u0085\U0001f680"
    data["params"]["machine"] = name
    data["results"][f"suite.time_{name}"] = data["results"].pop("suite.time_plain")
    path.write_text(json.dumps(data))
    engine = connect(sqlite_url)
    assert ingest_results_dir(engine, quirks).errors == []
    stream = io.StringIO()
    export_values(engine, stream, machine=name)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == 7 and {r["machine"] for r in records} == {name}
    assert f"suite.time_{name}" in {r["benchmark"] for r in records}
    engine.dispose()
