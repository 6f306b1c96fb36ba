"""Round trip of real asv results (made by asv itself): ingest -> export reproduces asv's own reading."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from asv.results import iter_results

from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from sqrtwatch.db.schema.models import Benchmark, Environment, Run
from tests.db_helpers import exported

pytestmark = pytest.mark.slow

SUITE_V1 = """
class Suite:
    params = ([1, 2], ["a", "b"])
    param_names = ["n", "kind"]
    number, repeat, rounds, warmup_time, min_run_count = 1, 3, 1, 0, 1

    def setup(self, n, kind):
        if n == 2 and kind == "b":
            raise NotImplementedError  # asv: skipped (NaN)

    def time_param(self, n, kind):
        sum(range(100 * n))

    def time_sometimes_fails(self, n, kind):
        if kind == "b":
            raise ValueError("boom")  # asv: failed (null)


def track_answer():
    return 42


track_answer.unit = "answers"


def time_plain():
    pass
"""
# The second commit edits time_plain (a new version), adds one benchmark, removes another.
SUITE_V2 = SUITE_V1.replace("def time_plain():\n    pass", "def time_plain():\n    sum(range(3))").replace(
    'def track_answer():\n    return 42\n\n\ntrack_answer.unit = "answers"\n',
    "def time_new():\n    pass\n",
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _asv(repo: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "asv", *args], cwd=repo, capture_output=True, text=True)
    # asv exits 2 when a benchmark failed, which this suite does on purpose.
    assert done.returncode in (0, 2), done.stdout + done.stderr


@pytest.fixture(scope="module")
def asv_history(tmp_path_factory) -> Path:
    """A results directory written by asv over two commits of a small project."""
    repo = tmp_path_factory.mktemp("asvproject")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "__init__.py").write_text("")
    config = {
        "version": 1,
        "project": "p",
        "repo": ".",
        "branches": ["main"],
        "environment_type": "existing",
        "benchmark_dir": "benchmarks",
        "results_dir": "results",
        "html_dir": "html",
    }
    (repo / "asv.conf.json").write_text(json.dumps(config))
    _git(repo, "init", "-q", "-b", "main")
    _asv(repo, "machine", "--yes", "--machine", "ci.runner-1")
    for source in (SUITE_V1, SUITE_V2):
        (repo / "benchmarks" / "bench.py").write_text(source)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "suite")
        _asv(
            repo,
            "run",
            "--record-samples",
            "--launch-method",
            "spawn",
            "--machine",
            "ci.runner-1",
            "--environment",
            f"existing:{sys.executable}",
            "--set-commit-hash",
            _git(repo, "rev-parse", "HEAD"),
        )
    return repo / "results"


def _as_exported(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def expected_records(results_dir: Path) -> list[dict]:
    """What asv's own reader sees in ``results_dir``, in the export's shape."""
    suite = json.loads((results_dir / "benchmarks.json").read_text())
    records = []
    for results in iter_results(str(results_dir)):
        for key in results.get_all_result_keys():
            params = results.get_result_params(key)
            known = suite.get(key, {}).get("param_names", [])
            names = known if len(known) == len(params) else [f"param{i + 1}" for i in range(len(params))]
            values = results.get_result_value(key, params)
            stats = results.get_result_stats(key, params)
            samples = results.get_result_samples(key, params)
            for i, combo in enumerate(itertools.product(*params)):
                value, stat = values[i], stats[i] or {}
                status = "failed" if value is None else ("skipped" if math.isnan(value) else "ok")
                records.append(
                    {
                        "machine": results.params["machine"],
                        "env_name": results.env_name,
                        "commit_hash": results.commit_hash,
                        "date": results.date,
                        "benchmark": key,
                        "params": dict(zip(names, combo)),
                        "status": status,
                        "value": value if status == "ok" else None,
                        "unit": suite.get(key, {}).get("unit"),
                        "ci_99_a": _as_exported(stat.get("ci_99_a")),
                        "ci_99_b": _as_exported(stat.get("ci_99_b")),
                        "q_25": stat.get("q_25"),
                        "q_75": stat.get("q_75"),
                        "number": stat.get("number"),
                        "repeat": stat.get("repeat"),
                        "n_samples": None if samples[i] is None else len(samples[i]),
                        "started_at": results.started_at.get(key),
                        "duration": results.duration.get(key),
                        "benchmark_version": results.benchmark_version.get(key),
                    }
                )
    return records


def _key(record: dict) -> tuple:
    return (record["commit_hash"], record["benchmark"], json.dumps(record["params"]))


def test_export_reproduces_what_asv_reads(db_url, asv_history):
    expected = expected_records(asv_history)
    statuses = {r["status"] for r in expected}
    assert statuses == {"ok", "failed", "skipped"}, "the suite should produce every status"
    engine = connect(db_url)
    report = ingest_results_dir(engine, asv_history)
    assert report.errors == [] and report.files_loaded == 2
    records = exported(engine)
    assert sorted(records, key=_key) == sorted(expected, key=_key)
    with engine.connect() as connection:
        flags = set(connection.execute(sa.select(Benchmark.name, Benchmark.stale, Benchmark.in_suite)).all())
    assert ("bench.time_plain", True, True) in flags and ("bench.time_plain", False, True) in flags
    assert ("bench.track_answer", False, False) in flags  # removed in the second commit, kept
    engine.dispose()


def test_sqrtwatch_run_context_is_ingested(sqlite_url, asv_results):
    import torch

    engine = connect(sqlite_url)
    report = ingest_results_dir(engine, asv_results)
    assert report.errors == [] and report.values_loaded > 0
    with engine.connect() as connection:
        run = connection.execute(
            sa.select(Run.torch_version, Run.cpu_isa, Run.build_variant, Run.profile)
        ).one()
        env = connection.execute(sa.select(Environment.name, Environment.torch_version)).one()
    assert run == (torch.__version__, torch.backends.cpu.get_cpu_capability(), "cpu", "quick")
    assert env.name.startswith("existing-") and env.torch_version == torch.__version__
    engine.dispose()
