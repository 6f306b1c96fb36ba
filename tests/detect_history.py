"""The ingested history that the detection, alerts and compare tests share.

24 commits on one machine; each benchmark carries one scenario with a known
answer (see EXPECTED_REGRESSIONS). Built once per session through the real
asv writer and the real ingest, then copied per test.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, commit_hash, write_history

COMMITS = 24
DTYPES = ["'float32'", "'float64'"]
RUN_WIDE_COMMIT = 8
SPECS = [
    BenchmarkSpec("bench_throughput.Step.time_sqrt", [DTYPES], ["dtype"]),  # float32 x1.5 from commit 12
    BenchmarkSpec("bench_throughput.Newest.time_sqrt", [DTYPES], ["dtype"]),  # float64 x1.5 at the newest
    BenchmarkSpec("bench_throughput.Flat.time_sqrt", [DTYPES], ["dtype"]),  # one slow run of float32 at 16
    BenchmarkSpec("bench_throughput.Flaky.time_sqrt", [DTYPES], ["dtype"]),  # failed and skipped points
    BenchmarkSpec(
        "bench_accuracy.Ulp.track_max_ulp", [DTYPES], ["dtype"], unit="ulp"
    ),  # float32 0 -> 1 at 20
    BenchmarkSpec(
        "bench_throughput.Rate.track_gbps", [DTYPES], ["dtype"], unit="GB/s"
    ),  # float64 x0.6 from 14
]
VERSIONED = "bench_throughput.Versioned.time_sqrt"  # version 2 from commit 12 measures 2x less
EXPECTED_REGRESSIONS = {
    ("bench_throughput.Step.time_sqrt", "'float32'", commit_hash(12)),
    ("bench_throughput.Newest.time_sqrt", "'float64'", commit_hash(COMMITS - 1)),
    ("bench_accuracy.Ulp.track_max_ulp", "'float32'", commit_hash(20)),
    ("bench_throughput.Rate.track_gbps", "'float64'", commit_hash(14)),
}


def level(name: str, dtype: int, k: int) -> float | None:
    """The true value of one cell at commit ``k`` (None: failed, NaN: skipped)."""
    if name.endswith("track_max_ulp"):
        return 1.0 if dtype == 0 and k >= 20 else 0.0
    base = 1e-4 * (1 + dtype)
    if name.endswith("track_gbps"):
        return 10.0 * (0.6 if dtype == 1 and k >= 14 else 1.0)
    if "Step" in name and dtype == 0 and k >= 12:
        return base * 1.5
    if "Newest" in name and dtype == 1 and k == COMMITS - 1:
        return base * 1.5
    if "Flat" in name and dtype == 0 and k == 16:
        return base * 1.7
    if "Flaky" in name and k in (5, 18):
        return None
    if "Flaky" in name and k == 10:
        return math.nan
    if name == VERSIONED:
        return base * (2.0 if k < 12 else 1.0)
    return base


def history_values(commits: range, seed: int = 7, run_wide: dict[int, float] | None = None) -> dict:
    """Values with 0.5 % run-to-run noise; ``run_wide`` multiplies every timing at a commit."""
    rng = np.random.default_rng(seed)
    run_wide = {RUN_WIDE_COMMIT: 1.4} if run_wide is None else run_wide
    values = {}
    for spec in [*SPECS, BenchmarkSpec(VERSIONED, [DTYPES], ["dtype"])]:
        rows = []
        for k in commits:
            row = []
            for d in range(len(DTYPES)):
                v = level(spec.name, d, k)
                if v is not None and math.isfinite(v) and spec.unit != "ulp":
                    v *= math.exp(rng.normal(0, 0.005))
                    factor = run_wide.get(k, 1.0)
                    v = v / factor if spec.unit == "GB/s" else v * factor
                row.append(v)
            rows.append(row)
        values[spec.name] = rows
    return values


def write_test_history(results_dir: Path, commits: range = range(COMMITS), **kwargs) -> None:
    """The shared history, version 1 of VERSIONED before commit 12 and version 2 from there."""
    values = history_values(commits, **kwargs)
    for versions, part in (("1", [k for k in commits if k < 12]), ("2", [k for k in commits if k >= 12])):
        if not part:
            continue
        specs = [*SPECS, BenchmarkSpec(VERSIONED, [DTYPES], ["dtype"], version=versions)]
        offset = [k - commits.start for k in part]
        write_history(
            results_dir,
            specs,
            {name: [rows[i] for i in offset] for name, rows in values.items()},
            first_commit=part[0],
            torch_versions=["2.13.0"] * len(part),
        )


def build_database(directory: Path) -> Path:
    """A SQLite file holding the ingested shared history."""
    write_test_history(directory / "results")
    path = directory / "history.db"
    engine = connect(f"sqlite:///{path}")
    report = ingest_results_dir(engine, directory / "results")
    assert not report.errors, report.errors
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def copy_database(source: Path, target_dir: Path) -> str:
    """URL of a private copy of a database built by :func:`build_database`."""
    target = target_dir / "copy.db"
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def alert_keys(records: list[dict], kind: str = "regression") -> set[tuple[str, str, str]]:
    """(benchmark, dtype, commit_after) of the alert records of one kind."""
    return {(r["benchmark"], r["params"]["dtype"], r["commit_after"]) for r in records if r["kind"] == kind}


def count_alerts(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one()
    engine.dispose()
    return count
