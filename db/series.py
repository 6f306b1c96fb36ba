"""What makes up one benchmark series, and which of its points detection may use."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def usable_points(status: Sequence[str], versions: Sequence[str | None]) -> np.ndarray:
    """Mask of the points detection uses: status ok, and the benchmark's latest version.

    A new benchmark version measures something else, so the history restarts there.
    """
    latest = versions[-1] if len(versions) else None
    return np.array([s == "ok" and v == latest for s, v in zip(status, versions)], dtype=bool)


# The accuracy suite's module: its track_* benchmarks count ulps and mismatches,
# which are deterministic, so any increase is a regression.
ACCURACY_MODULE = "bench_accuracy"
TIME_UNITS = frozenset({"seconds", "s", "ms", "us", "ns"})


def is_deterministic(benchmark: str, unit: str | None) -> bool:
    """Whether a series is exact (an accuracy count) rather than a noisy measurement."""
    return benchmark.split(".")[0] == ACCURACY_MODULE and (unit or "").strip().lower() not in TIME_UNITS


def higher_is_better(benchmark: str, unit: str | None) -> bool:
    """Whether a larger value is an improvement: rates (GB/s, elements/s) and roofline fractions."""
    return "/s" in (unit or "").lower() or "roofline" in benchmark.lower()


def finite_samples(samples) -> list[float] | None:
    """Stored samples as floats, without the non-finite ones (stored as strings); None if none."""
    if not samples:
        return None
    values = [float(s) for s in samples if isinstance(s, int | float) and math.isfinite(s)]
    return values or None


def load_points(session) -> pd.DataFrame:
    """Every stored result value with its series key and run, in history order.

    Series key: machine, env_name, benchmark, params. History order: commit date,
    then run id (runs of one commit in one environment replace each other at ingest).
    """
    from sqlalchemy import select

    from sqrtwatch.db.models import Benchmark, Environment, Machine, ResultValue, Revision, Run

    statement = (
        select(
            Machine.name.label("machine"),
            Environment.name.label("env_name"),
            Benchmark.name.label("benchmark"),
            ResultValue.params,
            Benchmark.version,
            Benchmark.unit,
            Run.id.label("run_id"),
            Run.torch_version,
            Revision.commit_hash,
            Revision.date.label("commit_date"),
            ResultValue.status,
            ResultValue.value,
            ResultValue.samples,
            ResultValue.ci_99_a,
            ResultValue.ci_99_b,
        )
        .select_from(ResultValue)
        .join(Run, Run.id == ResultValue.run_id)
        .join(Benchmark, Benchmark.id == ResultValue.benchmark_id)
        .join(Machine, Machine.id == Run.machine_id)
        .join(Environment, Environment.id == Run.environment_id)
        .join(Revision, Revision.id == Run.revision_id)
        .order_by(Machine.name, Environment.name, Revision.date, Run.id)
    )
    result = session.execute(statement)
    return pd.DataFrame.from_records(list(result), columns=list(result.keys()))
