"""Measure ingestion and the series query on a synthetic history; prints the figures.

    .venv/bin/python scripts/bench_ingest.py [--commits 1000] [--benchmarks 200] [--samples 0] [--db URL]
    .venv/bin/python scripts/bench_ingest.py --history DIR [--commits N]   # DIR: kept and reused

With --history an existing directory is measured as it is (its results files
are counted; nested copies of a results tree included), and the new run is
the commit after the last one of its top-level machine directory.

Targets (issue 5): >= 50,000 values/s ingest into SQLite for 1,000 files x 200
benchmarks x 10 parameter combinations; one new run ingested into that database
in < 2 s; the series query (one benchmark, one combination, all history) < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from synthetic_history import ENV_NAME, MACHINE, benchmark_names, write_history, write_results_file

from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from sqrtwatch.db.schema.models import params_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--benchmarks", type=int, default=200)
    parser.add_argument("--samples", type=int, default=0, help="raw samples per value in the history")
    parser.add_argument("--db", help="database URL (default: a new SQLite file in a temp dir)")
    parser.add_argument("--history", type=Path, help="keep the synthetic history here and reuse it next time")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-bench-") as tmp:
        results = Path(tmp) / "results"
        if args.history is not None:
            if not (args.history / "benchmarks.json").exists():
                write_history(args.history, args.commits, args.benchmarks, args.samples)
            shutil.copytree(args.history, results)
        start = time.perf_counter()
        if args.history is None:
            write_history(results, args.commits, args.benchmarks, args.samples)
        size = sum(p.stat().st_size for p in results.rglob("*.json"))
        files = [p for p in results.rglob("*.json") if p.name not in ("machine.json", "benchmarks.json")]
        print(
            f"history: {len(files)} files x {args.benchmarks} benchmarks x 10 combinations, "
            f"{args.samples} samples/value, {size / 1e6:.0f} MB, ready in {time.perf_counter() - start:.1f} s"
        )

        engine = connect(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        start, cpu = time.perf_counter(), _cpu_seconds()
        report = ingest_results_dir(engine, results)
        elapsed, (main_cpu, workers_cpu) = time.perf_counter() - start, _cpu_seconds(since=cpu)
        assert not report.errors, report.errors
        print(
            f"full ingest: {report.values_loaded} values in {elapsed:.1f} s = "
            f"{report.values_loaded / elapsed:,.0f} values/s  (target >= 50,000)"
        )
        # On a busy machine wall time says little: CPU seconds show the work itself.
        print(
            f"  CPU: writer process {main_cpu:.1f} s ({report.values_loaded / main_cpu:,.0f} values per CPU-s), "
            f"parser workers {workers_cpu:.1f} s in total"
        )

        names = benchmark_names(args.benchmarks)
        # A commit the history does not have yet (a reused history may hold more than --commits).
        next_commit = sum(1 for p in (results / MACHINE).glob("*.json") if p.name != "machine.json")
        write_results_file(results, names, next_commit, args.samples, random.Random(1))
        start = time.perf_counter()
        report = ingest_results_dir(engine, results)
        elapsed = time.perf_counter() - start
        assert report.files_loaded == 1 and not report.errors, report.summary()
        print(f"incremental ingest of one new run: {elapsed:.2f} s  (target < 2 s; {report.summary()})")

        time_series_query(engine, names[len(names) // 2])
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        engine.dispose()


def _cpu_seconds(since: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the parser workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime - since[0], children.ru_utime + children.ru_stime - since[1])


def time_series_query(engine, benchmark: str) -> None:
    """Time the dashboard's series query (sqrtwatch.db.queries.series) on one combination."""
    from sqlalchemy.orm import Session

    from sqrtwatch.db import queries

    params = params_key({"dtype": "'float32'", "size": "1048576"})
    timings, cpu_timings = [], []
    with Session(engine) as session:
        for _ in range(20):
            start, cpu = time.perf_counter(), time.process_time()
            frame = queries.series(session, benchmark, params, machine=MACHINE)
            timings.append(time.perf_counter() - start)
            cpu_timings.append(time.process_time() - cpu)
    assert len(frame) > 0 and set(frame["env_name"]) == {ENV_NAME}
    print(
        f"series query ({len(frame)} points): first {timings[0] * 1e3:.1f} ms, "
        f"median {statistics.median(timings) * 1e3:.1f} ms, median CPU {statistics.median(cpu_timings) * 1e3:.1f} ms"
        "  (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
