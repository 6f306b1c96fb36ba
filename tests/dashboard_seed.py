"""A small hand-written asv results directory for the dashboard tests.

Written in asv's own results format (v2) plus sqrtwatch context files, then loaded
through the real ingest, so the dashboard sees exactly what a real run stores.
Two machines, eight commits over three torch versions; on ``ci-linux`` float32
sqrt at 1e6 elements gets 40 % slower from commit 5 on, and bfloat16 loses
correct rounding in torch 2.13.0.
"""

from __future__ import annotations

import json
from pathlib import Path

MACHINES = ("ci-linux", "laptop")
COMMITS = [f"{index:02x}" + "c0ffee" * 6 + "00" for index in range(8)]
TORCH_VERSIONS = ["2.11.0", "2.11.0", "2.12.0", "2.12.0", "2.12.0", "2.13.0", "2.13.0", "2.13.0"]
REGRESSION_FROM = 5
ENV_NAME = "existing-py_usr_bin_python3"
DTYPE_BYTES = {"float16": 2, "float32": 4, "float64": 8}
SIZES = ["1000", "1000000"]
# The names, parameters and units of the suites in benchmarks/.
TIME_SQRT = "bench_throughput.Sqrt.time_sqrt"
GBPS = "bench_throughput.Bandwidth.track_gbps"
ROOFLINE = "bench_throughput.Bandwidth.track_roofline_fraction"
ALTERNATIVES = "bench_alternatives.Alternatives.time_sqrt"
ALTERNATIVE_IMPLS = ["torch.sqrt", "numpy", "mul_rsqrt"]
MISMATCHES = "bench_accuracy.Accuracy.track_mismatches"
MAX_ULP = "bench_accuracy.Accuracy.track_max_ulp"
COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
           "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"]  # fmt: skip

THROUGHPUT_PARAMS = [["'cpu'"], ["'float16'", "'float32'", "'float64'"], SIZES, ["'allocating'", "'out'"]]
THROUGHPUT_NAMES = ["device", "dtype", "size", "variant"]
ACCURACY_DTYPES = ["float16", "bfloat16", "float32"]


def _suite() -> dict:
    def entry(name, kind, unit, names):
        return {"name": name, "type": kind, "unit": unit, "param_names": names, "version": "1", "code": name}

    benchmarks = {
        TIME_SQRT: entry(TIME_SQRT, "time", "seconds", THROUGHPUT_NAMES),
        GBPS: entry(GBPS, "track", "GB/s", THROUGHPUT_NAMES),
        ROOFLINE: entry(ROOFLINE, "track", "fraction", THROUGHPUT_NAMES),
        ALTERNATIVES: entry(ALTERNATIVES, "time", "seconds", ["impl", "device", "dtype", "size"]),
        MISMATCHES: entry(MISMATCHES, "track", "count", ["device", "dtype", "impl"]),
        MAX_ULP: entry(MAX_ULP, "track", "ulp", ["device", "dtype", "impl"]),
    }
    return benchmarks | {"version": 2}


def _timing(values: list[float]) -> dict:
    return {
        "result": values,
        "stats_ci_99_a": [v * 0.96 for v in values],
        "stats_ci_99_b": [v * 1.04 for v in values],
        "stats_q_25": [v * 0.98 for v in values],
        "stats_q_75": [v * 1.02 for v in values],
        "stats_number": [100] * len(values),
        "stats_repeat": [10] * len(values),
        "samples": [[v * (1 + 0.01 * (k - 2)) for k in range(5)] for v in values],
    }


def _row(params: list[list[str]], cells: dict, started_at: int) -> list:
    cells = {"params": params, "version": "1", "started_at": started_at, "duration": 1.0} | cells
    return [cells.get(column) for column in COLUMNS]


def _copy_seconds(machine: str, dtype: str, size: str) -> float:
    bandwidth = 12e9 if machine == "ci-linux" else 30e9
    return 2e-6 + 2 * DTYPE_BYTES[dtype] * int(size) / bandwidth


def _results(machine: str, index: int) -> dict:
    jitter = 1 + 0.004 * ((index * 7 + len(machine)) % 5 - 2)
    times, gbps, fraction = [], [], []
    for dtype in DTYPE_BYTES:
        for size in SIZES:
            copy = _copy_seconds(machine, dtype, size)
            for variant in ("allocating", "out"):
                slow = (
                    1.4
                    if machine == "ci-linux"
                    and dtype == "float32"
                    and size == "1000000"
                    and index >= REGRESSION_FROM
                    else 1.0
                )
                seconds = copy * (1.15 if variant == "allocating" else 1.05) * slow
                times.append(seconds * jitter)
                # track_* values carry no samples, so they stay exact here (detection treats
                # sample-less series as deterministic).
                gbps.append(2 * DTYPE_BYTES[dtype] * int(size) / seconds / 1e9)
                fraction.append(copy / seconds)
    # asv's order: impl varies slowest (the Alternatives class declares it first).
    alternatives = [
        _copy_seconds(machine, dtype, size) * 1.1 * factor
        for factor in (1.0, 1.6, 2.5)  # torch.sqrt, numpy, mul_rsqrt
        for dtype in DTYPE_BYTES
        for size in SIZES
    ]
    mismatches, max_ulp = [], []
    for dtype in ACCURACY_DTYPES:
        broken = dtype == "bfloat16" and TORCH_VERSIONS[index] == "2.13.0"
        mismatches.append(37 if broken else 0)
        max_ulp.append(0.998 if broken else 0.5)
    throughput = THROUGHPUT_PARAMS
    alternative_params = [[f"'{impl}'" for impl in ALTERNATIVE_IMPLS], *THROUGHPUT_PARAMS[:3]]
    accuracy_params = [["'cpu'"], [f"'{d}'" for d in ACCURACY_DTYPES], ["'torch.sqrt'"]]
    date = 1_704_067_200_000 + index * 86_400_000
    started_at = date + 3_600_000  # each commit measured an hour after it was made
    return {
        "version": 2,
        "commit_hash": COMMITS[index],
        "env_name": ENV_NAME,
        "date": date,
        "params": {"machine": machine, "python": "3.11", "arch": "x86_64", "cpu": "test cpu", "num_cpu": "2"},
        "python": "3.11",
        "requirements": {},
        "env_vars": {},
        "result_columns": COLUMNS,
        "results": {
            TIME_SQRT: _row(throughput, _timing(times), started_at),
            GBPS: _row(throughput, {"result": gbps}, started_at),
            ROOFLINE: _row(throughput, {"result": fraction}, started_at),
            ALTERNATIVES: _row(alternative_params, _timing(alternatives), started_at),
            MISMATCHES: _row(accuracy_params, {"result": mismatches}, started_at),
            MAX_ULP: _row(accuracy_params, {"result": max_ulp}, started_at),
        },
        "durations": {},
    }


def _accuracy_report(index: int, dtype: str) -> dict:
    broken = dtype == "bfloat16" and TORCH_VERSIONS[index] == "2.13.0"
    failing = [{"input": "-0.0", "expected": "-0.0", "got": "0.0"}] if broken else []
    return {
        "impl": "torch.sqrt",
        "dtype": dtype,
        "device": "cpu",
        "torch_version": TORCH_VERSIONS[index],
        "mode": "exhaustive",
        "inputs_tested": 65536,
        "mismatches": 37 if broken else 0,
        "mismatch_fraction": 37 / 65536 if broken else 0.0,
        "max_ulp": 0.998 if broken else 0.5,
        "mean_ulp": 0.25,
        "worst_input_bits": "0x3f81" if broken else "0x3c01",
        "special_values": {"tested": 12, "failed": failing},
        "elapsed_s": 0.05,
        "by_binade": _by_binade(37 if broken else 0),
    }


def _by_binade(mismatches: int) -> list[dict]:
    """A few rows of the engine's by-binade picture: underflow, subnormal, normal, overflow."""
    rows = [
        (-134, "underflow", 0, 1.0, None, 1.0),
        (-133, "subnormal", 1, 0.5, 2.0**-8, 0.23),
        (-127, "subnormal", 64, 2.0**-7, 2.0**-8, 0.0117),
        (0, "normal", 128, 2.0**-8, 2.0**-8, 0.0059),
        (128, "overflow", 0, None, None, None),
    ]
    return [
        {
            "exponent": e,
            "region": region,
            "inputs": inputs,
            "mismatches": mismatches if e == 0 else 0,
            "max_ulp": None if sqrt_rel is None else 0.5,
            "input_rel_error": input_rel,
            "sqrt_rel_error": sqrt_rel,
            "total_rel_error": total,
        }
        for e, region, inputs, input_rel, sqrt_rel, total in rows
    ]


def _context(machine: str, index: int) -> dict:
    return {
        "format_version": 1,
        "torch_version": TORCH_VERSIONS[index],
        "torch_git_hash": "abc123",
        "build_variant": "cpu",
        "cpu_model": "Test CPU" if machine == "ci-linux" else "Laptop CPU",
        "cpu_count": 2,
        "cpu_isa": "AVX2",
        "threads": 2,
        "profile": "quick",
        "sqrtwatch_commit": COMMITS[index],
        "accuracy": [_accuracy_report(index, dtype) for dtype in ACCURACY_DTYPES],
    }


def write_results(root: Path, commits: int = len(COMMITS)) -> Path:
    """Write the results directory under ``root`` (the first ``commits`` commits); return it."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "benchmarks.json").write_text(json.dumps(_suite()))
    for machine in MACHINES:
        machine_dir = results / machine
        context_dir = results / "sqrtwatch-context" / machine
        machine_dir.mkdir(exist_ok=True)
        context_dir.mkdir(parents=True, exist_ok=True)
        (machine_dir / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
        for index in range(commits):
            stem = f"{COMMITS[index][:8]}-{ENV_NAME}"
            (machine_dir / f"{stem}.json").write_text(json.dumps(_results(machine, index)))
            (context_dir / f"{stem}.json").write_text(json.dumps(_context(machine, index)))
    return results


def seed_database(root: Path) -> Path:
    """A SQLite file under ``root`` with these results ingested and alerts detected (real layers)."""
    from sqrtwatch.db.detection.detect import detect_alerts
    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect

    path = root / "seeded.db"
    engine = connect(f"sqlite:///{path}")
    report = ingest_results_dir(engine, write_results(root))
    if report.errors:
        raise RuntimeError(f"seed results did not ingest: {report.errors}")
    detect_alerts(engine, thresholds={})
    engine.dispose()  # checkpoints the WAL, so that the file can be copied
    return path
