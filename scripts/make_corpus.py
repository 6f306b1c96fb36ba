"""Write a labelled corpus of synthetic benchmark histories for scoring detection.

Groups of series share their runs (so that run-wide shifts exist); each series
carries one scenario: no change, a single slow run, missing and failed points,
a history restart at a benchmark version change, steps of several sizes, an
improvement, a drift of several small steps, or a step at the newest commit.
The labels are the true regressions (first and last index of each change).

    python scripts/make_corpus.py --out .sqrtwatch/corpus.json [--seed 1] [--groups 40]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SAMPLES_PER_POINT = 7
SERIES_PER_GROUP = 12
NOISE_LEVELS = (0.005, 0.02, 0.05)  # run-to-run standard deviation (relative)
SCENARIOS = (
    "stable",
    "outlier",
    "missing",
    "version",
    "step_small",
    "step_medium",
    "step_large",
    "improvement",
    "drift",
    "newest",
)


def make_series(rng: np.random.Generator, runs: int, noise: float, scenario: str) -> dict:
    """One series: level per run, then samples around it; labels of its true regressions."""
    level = np.full(runs, rng.uniform(1e-6, 1e-3))
    status = ["ok"] * runs
    version = ["1"] * runs
    changes = []
    position = int(rng.integers(10, runs - 8))
    if scenario == "outlier":
        for run in rng.choice(np.arange(3, runs - 2), size=int(rng.integers(1, 3)), replace=False):
            level[run] *= rng.uniform(1.3, 2.0)
    elif scenario == "missing":
        for run in rng.choice(np.arange(runs - 1), size=runs // 5, replace=False):
            status[run] = str(rng.choice(["missing", "failed", "skipped"]))
    elif scenario == "version":
        # The benchmark changed what it measures: the old history is another quantity.
        level[:position] *= rng.uniform(1.5, 3.0)
        version[:position] = ["0"] * position
    elif scenario.startswith("step_") or scenario == "improvement":
        low, high = {"step_small": (0.06, 0.1), "step_medium": (0.15, 0.4), "step_large": (0.5, 2.0)}.get(
            scenario, (-0.5, -0.15)
        )
        level[position:] *= 1 + rng.uniform(low, high)
        if scenario != "improvement":
            changes.append({"first": position, "last": position})
    elif scenario == "drift":
        steps = int(rng.integers(3, 6))
        spacing = int(rng.integers(2, 5))
        first = min(position, runs - 2 - steps * spacing)
        for k in range(steps):
            level[first + k * spacing :] *= 1 + rng.uniform(0.025, 0.04)
        changes.append({"first": first, "last": first + (steps - 1) * spacing})
    elif scenario == "newest":
        level[-1] *= 1 + rng.uniform(0.15, 0.8)
        changes.append({"first": runs - 1, "last": runs - 1})
    return {"scenario": scenario, "level": level, "status": status, "version": version, "changes": changes}


def make_group(rng: np.random.Generator, index: int) -> dict:
    """Series sharing one machine's runs; half the groups get transient run-wide shifts."""
    runs = int(rng.integers(40, 61))
    noise = float(NOISE_LEVELS[index % len(NOISE_LEVELS)])
    scenarios = rng.choice(SCENARIOS, size=SERIES_PER_GROUP)
    series = [make_series(rng, runs, noise, str(s)) for s in scenarios]
    shifted_runs = []
    if index % 2 == 1:
        shifted_runs = sorted(int(r) for r in rng.choice(np.arange(5, runs - 1), size=2, replace=False))
        for run in shifted_runs:
            factor = rng.uniform(1.2, 1.6)
            for s in series:
                if rng.random() < 0.85:
                    s["level"][run] *= factor
    for s in series:
        run_noise = np.exp(rng.normal(0.0, noise, runs))
        point_level = s["level"] * run_noise
        samples = point_level[:, None] * np.exp(rng.normal(0.0, noise / 2, (runs, SAMPLES_PER_POINT)))
        s["samples"] = [
            None if st in ("missing", "failed", "skipped") else row.tolist()
            for row, st in zip(samples, s["status"])
        ]
        s["values"] = [None if row is None else float(np.median(row)) for row in s["samples"]]
        del s["level"]
    return {
        "name": f"group{index:03d}",
        "noise": noise,
        "runs": runs,
        "run_wide_shifts": shifted_runs,
        "series": series,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(".sqrtwatch/corpus.json"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--groups", type=int, default=40)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    corpus = {"seed": args.seed, "groups": [make_group(rng, i) for i in range(args.groups)]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(corpus))
    series = sum(len(g["series"]) for g in corpus["groups"])
    print(f"{args.out}: {args.groups} groups, {series} series")


if __name__ == "__main__":
    main()
