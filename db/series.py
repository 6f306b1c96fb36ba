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


# Units of deterministic measurements (the accuracy suite's track_* benchmarks):
# any increase is a regression, no statistics needed.
DETERMINISTIC_UNITS = frozenset({"ulp", "count", "fraction", "mismatches"})


def is_deterministic(unit: str | None) -> bool:
    """Whether a series of this unit is exact (accuracy) rather than a noisy timing."""
    return (unit or "").strip().lower() in DETERMINISTIC_UNITS


def higher_is_better(unit: str | None) -> bool:
    """Whether a larger value of this unit is an improvement (rates like GB/s, elements/s)."""
    return "/s" in (unit or "").lower()


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
