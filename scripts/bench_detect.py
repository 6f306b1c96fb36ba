"""Time ``sqrtwatch detect`` on an existing database; prints the figures.

    .venv/bin/python scripts/bench_detect.py sqlite:////tmp/bench/bench.db [--in-place]

Three passes, as detect is used: a full pass (every environment analysed), a
rerun with nothing new (unchanged environments are skipped), and a rerun after
one new run of the newest machine's synthetic history was ingested (the typical
CI step: that environment is analysed again, the others are skipped). A SQLite
database is copied to a temporary directory first unless ``--in-place``, so the
timed passes start from the database as given and leave it untouched.
Build the 1,000-file database with ``scripts/bench_dashboard.py --keep DIR``.
Target (issue 6 follow-up): the full 2M-value history in a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_history import ENV_NAME, MACHINE, benchmark_names, write_results_file, write_side_files

from sqrtwatch.db.detection.detect import detect_alerts
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect


def timed_detect(engine, label: str, full: bool = False) -> None:
    start = time.perf_counter()
    summary = detect_alerts(engine, thresholds={}, full=full)
    seconds = time.perf_counter() - start
    first_line = summary.summary().splitlines()[0]
    print(f"{label:<34} {seconds:7.1f} s   {first_line} ({len(summary.run_wide_shifts)} run-wide shifts)")


def add_synthetic_run(engine, directory: Path) -> None:
    """Ingest one more commit of the synthetic history (scripts/synthetic_history.py)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        commits = connection.execute(
            text(
                "SELECT count(*) FROM runs JOIN machines ON machines.id = runs.machine_id WHERE machines.name = :m"
            ),
            {"m": MACHINE},
        ).scalar_one()
        benchmarks = connection.execute(
            text("SELECT count(DISTINCT name) FROM benchmarks WHERE name LIKE 'bench_synthetic.%'")
        ).scalar_one()
    if not commits:
        raise SystemExit(
            f"no runs of {MACHINE} in the database: build it with scripts/bench_dashboard.py --keep DIR"
        )
    results = directory / "new-run"
    names = benchmark_names(benchmarks)
    write_side_files(results, names)
    write_results_file(results, names, commits, 0, random.Random(commits))
    report = ingest_results_dir(engine, results)
    if report.errors:
        raise SystemExit(f"ingest of the new run failed: {report.errors[:3]}")
    print(f"(one new run of {MACHINE} / {ENV_NAME} ingested: {len(names) * 10} values)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database URL, e.g. sqlite:////tmp/bench/bench.db")
    parser.add_argument("--in-place", action="store_true", help="time on the database itself, not a copy")
    args = parser.parse_args()

    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-bench-detect-") as tmp:
        url = args.url
        if url.startswith("sqlite:///") and not args.in_place:
            source = Path(url.removeprefix("sqlite:///"))
            if not source.is_file():
                raise SystemExit(f"{source}: no such database file")
            copy = Path(tmp) / source.name
            shutil.copy(source, copy)
            url = f"sqlite:///{copy}"
        engine = connect(url)
        timed_detect(engine, "full pass", full=True)
        timed_detect(engine, "rerun, nothing new")
        add_synthetic_run(engine, Path(tmp))
        timed_detect(engine, "rerun after one new run")
        engine.dispose()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
