"""What kind of value a benchmark stores, decided from what its suite declares.

The inputs are asv's benchmark type (``time``, ``track``, ``mem``, ``peakmem``), the
unit and the parameter names, as benchmarks.json gives them: never the benchmark's
or its module's name, so renaming a suite cannot change how its series are read.
Detection, comparison and the dashboard all ask this module.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum

TIME_UNITS = frozenset({"seconds", "s", "ms", "us", "ns"})
RATE_UNITS = frozenset({"gbps"})  # besides every unit per second ("GB/s", "elements/s")
# Exact outcomes of a fixed set of inputs (the accuracy suite): any change is real.
EXACT_UNITS = frozenset({"count", "ulp"})
FRACTION_UNIT = "fraction"
SWEEP_PARAMETER = "size"  # a measurement over tensor sizes (a timing-derived fraction)


class Kind(Enum):
    """The kinds of stored values; the value is the name used in docs and captions."""

    TIME = "time"  # seconds per call: asv time_*, or a track in a time unit
    RATE = "rate"  # per second: GB/s, elements/s
    ROOFLINE = "roofline fraction"  # share of the copy bandwidth reached, over a size sweep
    SPEEDUP = "speedup"  # a ratio of two times, > 1 better
    MEMORY = "memory"  # bytes: asv mem_*, peakmem_*
    ACCURACY = "accuracy"  # mismatches, their fraction, ulp errors: deterministic
    OTHER = "other"  # a tracked value of no known direction

    @property
    def exact(self) -> bool:
        """Whether values are deterministic (any difference is a change) rather than measured."""
        return self is Kind.ACCURACY

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value is an improvement."""
        return self in (Kind.RATE, Kind.ROOFLINE, Kind.SPEEDUP)


def kind_of(type_: str | None, unit: str | None, param_names: Collection[str]) -> Kind:
    """The kind of a benchmark of asv type ``type_`` (None: unknown) with ``unit`` and parameters."""
    unit = (unit or "").strip().lower()
    if type_ == "time" or unit in TIME_UNITS:
        return Kind.TIME
    if type_ in ("mem", "peakmem") or unit == "bytes":
        return Kind.MEMORY
    if "/s" in unit or unit in RATE_UNITS:
        return Kind.RATE
    if unit == "ratio":
        return Kind.SPEEDUP
    if unit == FRACTION_UNIT:
        return Kind.ROOFLINE if SWEEP_PARAMETER in param_names else Kind.ACCURACY
    if unit in EXACT_UNITS:
        return Kind.ACCURACY
    return Kind.OTHER
