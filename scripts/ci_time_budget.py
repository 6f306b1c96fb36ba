"""Estimate each CI runner's benchmark job time and check it fits the job's timeout with margin.

Per runner of .github/scripts/benchmark_matrix.py and each profile it may run: the cells the
plan starts (benchmarks/profiles.py, its device only, so absent devices cost nothing), the
processes asv starts for them (one per cell and round), and the wall time
``processes x start cost + cells x measuring time``. Start costs: forkserver 0.05 s and spawn
3.7 s per process, measured on the 2-core dev box (sqrtwatch/runner.py launch_method);
measuring time 2.3 s per cell: the full profile took 1,566 s on the dev box (docs/throughput.md)
for its 690 CPU cells, start costs included, so this counts them twice on purpose.
Exit status 1 when an estimate exceeds MARGIN of the runner's timeout.
Usage: python scripts/ci_time_budget.py
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import profiles  # noqa: E402 - after the path that finds it

FORKSERVER_S = 0.05
SPAWN_S = 3.7
MEASURE_S_PER_CELL = 2.3
MARGIN = 0.75


def planner():
    spec = importlib.util.spec_from_file_location(
        "benchmark_matrix", ROOT / ".github/scripts/benchmark_matrix.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells_and_processes(profile: str, devices: list[str]) -> tuple[int, int]:
    """Cells the plan names for ``devices``, and asv's processes for them (rounds included)."""
    patterns = [re.compile(p) for p in profiles.bench_patterns(profile, devices)]
    cells = processes = 0
    for prefix, cls in profiles._suite_classes():
        if not hasattr(cls, "params"):
            continue
        for method in (m for m in dir(cls) if m.startswith(profiles.BENCHMARK_PREFIXES)):
            rounds = getattr(cls, "rounds", 2) if method.startswith("time_") else 1
            for combo in itertools.product(*cls.params):
                if any(p.search(f"{prefix}{method}({', '.join(map(repr, combo))})") for p in patterns):
                    cells, processes = cells + 1, processes + rounds
    return cells, processes


def estimates() -> list[dict]:
    rows = []
    for name, runner in planner().RUNNERS.items():
        devices = ["cpu"] + ([runner["require_device"]] if runner["require_device"] else [])
        start = FORKSERVER_S if name == "linux-cpu" else SPAWN_S
        for profile in ("quick", "full") if runner["max_profile"] == "full" else ("quick",):
            cells, processes = cells_and_processes(profile, devices)
            seconds = processes * start + cells * MEASURE_S_PER_CELL
            rows.append(
                dict(
                    runner=name,
                    profile=profile,
                    cells=cells,
                    processes=processes,
                    minutes=seconds / 60,
                    timeout=runner["timeout_minutes"],
                )
            )
    return rows


def main() -> None:
    rows = estimates()
    print("| runner | profile | cells | processes | estimate (min) | timeout (min) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['runner']} | {row['profile']} | {row['cells']:,} | {row['processes']:,} "
            f"| {row['minutes']:.0f} | {row['timeout']} |"
        )
    over = [row for row in rows if row["minutes"] > MARGIN * row["timeout"]]
    for row in over:
        print(
            f"{row['runner']} {row['profile']}: {row['minutes']:.0f} min exceeds {MARGIN:.0%} of {row['timeout']} min",
            file=sys.stderr,
        )
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
