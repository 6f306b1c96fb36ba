"""Write a synthetic asv results history (format 2, as asv writes it) for scale tests.

    .venv/bin/python scripts/synthetic_history.py OUT_DIR [--commits 1000] [--benchmarks 200]

Each benchmark has 10 parameter combinations (5 dtypes x 2 sizes); values are
log-normal noise around a per-benchmark baseline, with a few failed (null) and
skipped (NaN) cells, as real suites have.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

MACHINE = "synthetic.host-1"
ENV_NAME = "virtualenv-py3.11-torch2.13.0"
DTYPES = ["'float16'", "'bfloat16'", "'float32'", "'float64'", "'complex64'"]
SIZES = ["1024", "1048576"]
RESULT_COLUMNS = [
    "result",
    "params",
    "version",
    "started_at",
    "duration",
    "stats_ci_99_a",
    "stats_ci_99_b",
    "stats_q_25",
    "stats_q_75",
    "stats_number",
    "stats_repeat",
    "samples",
]
# Commits one hour apart, from 2025-01-01.
FIRST_COMMIT_MS = 1_735_689_600_000
COMMIT_STEP_MS = 3_600_000


def benchmark_names(count: int) -> list[str]:
    """``count`` asv benchmark names spread over a few suites."""
    return [f"bench_synthetic.Suite{i % 10}.time_case_{i:03d}" for i in range(count)]


def commit_hash(index: int) -> str:
    """A deterministic 40-hex commit hash for the ``index``-th commit."""
    return hashlib.sha1(f"commit-{index}".encode()).hexdigest()


def write_side_files(out: Path, names: list[str], machine_name: str = MACHINE) -> None:
    """machine.json and benchmarks.json, as asv writes them."""
    machine_dir = out / machine_name
    machine_dir.mkdir(parents=True, exist_ok=True)
    machine = {
        "arch": "x86_64",
        "cpu": "Synthetic CPU",
        "machine": machine_name,
        "num_cpu": "8",
        "os": "Linux",
        "ram": "16000000",
    }
    (machine_dir / "machine.json").write_text(json.dumps({**machine, "version": 1}))
    benchmarks = {
        name: {
            "code": f"def {name}(): pass",
            "name": name,
            "param_names": ["dtype", "size"],
            "params": [DTYPES, SIZES],
            "type": "time",
            "unit": "seconds",
            "version": hashlib.sha256(name.encode()).hexdigest(),
        }
        for name in names
    }
    (out / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))


def write_results_file(
    out: Path, names: list[str], index: int, n_samples: int, rng: random.Random, machine_name: str = MACHINE
) -> Path:
    """The results file of the ``index``-th commit."""
    commit = commit_hash(index)
    date = FIRST_COMMIT_MS + index * COMMIT_STEP_MS
    results = {}
    for b, name in enumerate(names):
        baseline = 1e-6 * (1 + b % 50)
        values: list[float | None] = []
        samples: list[list[float] | None] = []
        for _ in range(len(DTYPES) * len(SIZES)):
            roll = rng.random()
            if roll < 0.005:
                values.append(None)  # failed
                samples.append(None)
            elif roll < 0.01:
                values.append(float("nan"))  # skipped
                samples.append(None)
            else:
                cell = [baseline * rng.lognormvariate(0, 0.05) for _ in range(max(n_samples, 1))]
                values.append(sorted(cell)[len(cell) // 2])
                samples.append(cell if n_samples else None)
        ok = [v for v in values if v is not None and v == v]
        results[name] = [
            values,
            [DTYPES, SIZES],
            hashlib.sha256(name.encode()).hexdigest(),
            date + 60_000 + b,
            0.5,
            [v * 0.98 if v is not None and v == v else None for v in values],
            [v * 1.02 if v is not None and v == v else None for v in values],
            [v * 0.99 if v is not None and v == v else None for v in values],
            [v * 1.01 if v is not None and v == v else None for v in values],
            [100 if v is not None and v == v else None for v in values],
            [10 if v is not None and v == v else None for v in values],
            samples if n_samples and ok else None,
        ]
        while results[name] and results[name][-1] is None:
            results[name].pop()
    data = {
        "commit_hash": commit,
        "env_name": ENV_NAME,
        "date": date,
        "params": {"machine": machine_name, "python": "3.11", "torch": "2.13.0"},
        "python": "3.11",
        "requirements": {"torch": "2.13.0"},
        "env_vars": {},
        "result_columns": RESULT_COLUMNS,
        "results": results,
        "durations": {},
        "version": 2,
    }
    path = out / machine_name / f"{commit[:8]}-{ENV_NAME}.json"
    path.write_text(json.dumps(data))
    return path


def write_history(
    out: Path, commits: int, benchmarks: int, n_samples: int, seed: int = 0, machine_name: str = MACHINE
) -> list[Path]:
    """A whole synthetic results directory; returns the results files, oldest first."""
    rng = random.Random(seed)
    names = benchmark_names(benchmarks)
    write_side_files(out, names, machine_name)
    return [write_results_file(out, names, i, n_samples, rng, machine_name) for i in range(commits)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--benchmarks", type=int, default=200)
    parser.add_argument(
        "--samples", type=int, default=0, help="raw samples recorded per value (asv --record-samples)"
    )
    args = parser.parse_args()
    files = write_history(args.out, args.commits, args.benchmarks, args.samples)
    print(f"wrote {len(files)} results files under {args.out}")


if __name__ == "__main__":
    main()
