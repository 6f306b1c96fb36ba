"""A year of nightly runs of two torch versions on one machine, at scale; prints the figures.

    .venv/bin/python scripts/bench_history.py [--nights 365] [--keep DIR] [--repeat 3]

Synthesizes, in asv's results format plus sqrtwatch context files, one run per night of
the whole suite in benchmarks/ (every cell of every class; the GPU cells skipped, as on
a CPU-only runner; raw samples for the timings) in two environments, torch 2.13.0 and
2.14.1 side by side (``sqrtwatch run --torch``): 730 runs by default. The commit of this
repository changes once a week, so most nights re-measure an unchanged commit and only
the run time tells them apart. Then it times, from nothing:

- ingest of the whole history            (target < 60 s)
- ingest of one new run                  (target < 2 s)
- ``detect`` after that new run          (target < 5 s; the full first pass is printed too),
  as a function call and as the command (``sqrtwatch detect``, a new process) after one more
- every dashboard page, warm             (target < 1 s; AppTest, median of reruns)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO)]
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

MACHINE = "nightly-host"
TORCH_VERSIONS = ("2.13.0", "2.14.1")
FIRST_NIGHT_MS = 1_735_696_800_000  # 2025-01-01 02:00 UTC
DAY_MS = 86_400_000
NIGHTS_PER_COMMIT = 7
TIME_SAMPLES = 10  # raw samples asv keeps per timing cell (--record-samples)
RESULT_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
                  "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"]  # fmt: skip
T = TypeVar("T")
TARGETS_S = {"full ingest": 60.0, "one new run": 2.0, "detect after one new run": 5.0, "page warm": 1.0}


def env_name(version: str) -> str:
    """asv's name of a virtualenv of the torch matrix (asv.conf.json)."""
    return f"virtualenv-py3.11-torch{version}"


def suite() -> dict[str, dict]:
    """asv's benchmarks.json entries of every benchmark in benchmarks/, from the classes themselves."""
    from benchmarks.profiles import BENCHMARK_PREFIXES, _suite_classes

    entries = {}
    for prefix, cls in _suite_classes():
        for method in sorted(name for name in dir(cls) if name.startswith(BENCHMARK_PREFIXES)):
            kind = method.split("_", 1)[0]
            params = [[repr(value) for value in values] for values in getattr(cls, "params", [])]
            name = prefix + method
            entries[name] = {
                "name": name,
                "type": kind,
                "unit": "seconds" if kind == "time" else getattr(getattr(cls, method), "unit", "unit"),
                "params": params,
                "param_names": list(getattr(cls, "param_names", [])),
                "version": str(getattr(cls, "version", "1")),
                "code": name,
            }
    return entries


def commit_hash(week: int) -> str:
    return hashlib.sha1(f"sqrtwatch-week-{week}".encode()).hexdigest()


def _cells(entry: dict) -> list[tuple[str, ...]]:
    import itertools

    return list(itertools.product(*entry["params"])) if entry["params"] else [()]


def results_file(entries: dict[str, dict], night: int, version: str, rng: random.Random) -> tuple[dict, dict]:
    """The asv results of one night in one environment, and its sqrtwatch context."""
    started = FIRST_NIGHT_MS + night * DAY_MS + (0 if version == TORCH_VERSIONS[0] else 1_800_000)
    commit = commit_hash(night // NIGHTS_PER_COMMIT)
    results = {}
    for b, (name, entry) in enumerate(entries.items()):
        cells = _cells(entry)
        baseline = 1e-6 * (1 + b % 17)
        values: list[float] = []
        samples: list[list[float] | None] = []
        for cell in cells:
            gpu = "'cuda'" in cell or "'mps'" in cell
            if gpu:
                values.append(float("nan"))  # skipped: no GPU on this runner
                samples.append(None)
            elif entry["type"] == "time":
                cell_samples = [baseline * rng.lognormvariate(0, 0.03) for _ in range(TIME_SAMPLES)]
                values.append(statistics.median(cell_samples))
                samples.append(cell_samples)
            else:
                values.append(0.0 if "count" in entry["unit"] else baseline * 1e6)
                samples.append(None)
        finite = [v if v == v else None for v in values]
        row = {
            "result": values,
            "params": entry["params"],
            "version": entry["version"],
            "started_at": started + 1000 * b,
            "duration": 1.0,
            "stats_ci_99_a": [v * 0.98 if v else v for v in finite],
            "stats_ci_99_b": [v * 1.02 if v else v for v in finite],
            "stats_q_25": [v * 0.99 if v else v for v in finite],
            "stats_q_75": [v * 1.01 if v else v for v in finite],
            "stats_number": [100 if v is not None else None for v in finite],
            "stats_repeat": [TIME_SAMPLES if v is not None else None for v in finite],
            "samples": samples if entry["type"] == "time" else None,
        }
        results[name] = [row[column] for column in RESULT_COLUMNS]
        while results[name][-1] is None:
            results[name].pop()
    data = {
        "commit_hash": commit,
        "env_name": env_name(version),
        "date": FIRST_NIGHT_MS + (night // NIGHTS_PER_COMMIT) * NIGHTS_PER_COMMIT * DAY_MS - 3_600_000,
        "params": {"machine": MACHINE, "python": "3.11", "torch": version},
        "python": "3.11",
        "requirements": {"torch": version},
        "env_vars": {},
        "result_columns": RESULT_COLUMNS,
        "results": results,
        "durations": {},
        "version": 2,
    }
    context = {
        "format_version": 1,
        "python": "3.11.7",
        "torch_version": f"{version}+cpu",
        "torch_git_hash": hashlib.sha1(version.encode()).hexdigest(),
        "build_variant": "cpu",
        "cpu_model": "AMD EPYC 9B14",
        "cpu_count": 2,
        "cpu_isa": "AVX512",
        "threads": 2,
        "profile": "full",
        "sqrtwatch_commit": commit,
    }
    return data, context


def write_night(out: Path, entries: dict[str, dict], night: int, version: str, rng: random.Random) -> Path:
    """One run as ``sqrtwatch run`` leaves it: asv's results file, its context file, their archived copies.

    asv's ``<commit>-<env>.json`` is overwritten by the next night at the same commit; the
    archive (sqrtwatch/archive.py) keeps every night.
    """
    from sqrtwatch.archive import archive_run
    from sqrtwatch.context import context_path

    data, context = results_file(entries, night, version, rng)
    stem = f"{data['commit_hash'][:8]}-{data['env_name']}"
    path = out / MACHINE / f"{stem}.json"
    path.write_text(json.dumps(data))
    context_path(out, MACHINE, stem).write_text(json.dumps(context))
    archive_run(out, MACHINE, stem)
    return path


def write_history(out: Path, entries: dict[str, dict], nights: int, seed: int = 0) -> int:
    """The whole history under ``out``; returns the number of runs."""
    (out / MACHINE).mkdir(parents=True, exist_ok=True)
    (out / "sqrtwatch-context" / MACHINE).mkdir(parents=True, exist_ok=True)
    (out / MACHINE / "machine.json").write_text(
        json.dumps(
            {"machine": MACHINE, "arch": "x86_64", "cpu": "AMD EPYC 9B14", "num_cpu": "2", "version": 1}
        )
    )
    (out / "benchmarks.json").write_text(json.dumps({**entries, "version": 2}))
    rng = random.Random(seed)
    for night in range(nights):
        for version in TORCH_VERSIONS:
            write_night(out, entries, night, version, rng)
    return nights * len(TORCH_VERSIONS)


def timed(label: str, target: float | None, action: Callable[[], T]) -> T:
    """Run ``action``, print its wall time against ``target``; return its result."""
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    verdict = "" if target is None else ("  ok" if seconds < target else "  MISSED")
    print(
        f"{label:<34} {seconds:8.2f} s{f'   (target < {target:g} s)' if target else ''}{verdict}", flush=True
    )
    return result


def time_pages(url: str, repeat: int) -> None:
    """Each dashboard page in AppTest: one cold run, then the median of ``repeat`` warm reruns."""
    from bench_dashboard import PAGES, time_page
    from streamlit.testing.v1 import AppTest

    os.environ["SQRTWATCH_DB"] = url
    AppTest.from_string("import streamlit as st\nst.write('warm-up')").run()
    queries = {
        "trends": {"bench": "bench_throughput.Sqrt.time_sqrt", "p.dtype": "float32", "p.size": "100000"}
    }
    for page in PAGES:
        cold, median = time_page(page, repeat, queries)
        verdict = "ok" if median < TARGETS_S["page warm"] else "MISSED"
        print(f"page {page:<29} {median:8.2f} s   (target < 1 s)  {verdict}; cold {cold:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="write the history and database here and keep them")
    parser.add_argument("--repeat", type=int, default=3, help="warm reruns per page")
    args = parser.parse_args()

    from sqrtwatch.db.detection.detect import detect_alerts
    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect

    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-bench-history-") as tmp:
        root = args.keep or Path(tmp)
        results = root / "results"
        shutil.rmtree(results, ignore_errors=True)
        start = time.perf_counter()
        entries = suite()
        files = write_history(results, entries, args.nights)
        cells = sum(math.prod(len(p) for p in entry["params"]) for entry in entries.values())
        size = sum(p.stat().st_size for p in results.rglob("*.json"))
        print(
            f"history: {files} runs x {cells} cells ({len(entries)} benchmarks), {size / 1e6:.0f} MB, "
            f"written in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        db = root / "history.db"
        db.unlink(missing_ok=True)
        engine = connect(f"sqlite:///{db}")
        report = timed(
            "ingest from nothing", TARGETS_S["full ingest"], lambda: ingest_results_dir(engine, results)
        )
        assert not report.errors, report.errors[:3]
        print(f"  {report.summary()}")
        timed("detect, first full pass", None, lambda: detect_alerts(engine, thresholds={}))
        write_night(results, entries, args.nights, TORCH_VERSIONS[1], random.Random(args.nights))
        report = timed(
            "ingest one new run", TARGETS_S["one new run"], lambda: ingest_results_dir(engine, results)
        )
        assert report.files_loaded == 1 and not report.errors, report.summary()
        summary = timed(
            "detect after one new run",
            TARGETS_S["detect after one new run"],
            lambda: detect_alerts(engine, thresholds={}),
        )
        print(f"  {summary.summary().splitlines()[0]}")
        write_night(results, entries, args.nights + 1, TORCH_VERSIONS[1], random.Random(args.nights + 1))
        assert ingest_results_dir(engine, results).files_loaded == 1
        command = [sys.executable, "-m", "sqrtwatch", "detect", "--db", f"sqlite:///{db}"]
        completed = timed(
            "sqrtwatch detect (the command)",
            TARGETS_S["detect after one new run"],
            lambda: subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True),
        )
        print(f"  {completed.stdout.splitlines()[0]}")
        engine.dispose()
        time_pages(f"sqlite:///{db}", args.repeat)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
