"""Throughput arithmetic and the in-process timer behind the ``track_*`` benchmarks.

The formulas are small pure functions so that tests pin them down; DESIGN.md defines them:
effective bandwidth = (bytes read + bytes written) / time, and fraction of roofline = time
of a plain copy of the same bytes, measured in the same run, / time of the square root.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace


def bytes_moved(size: int, itemsize: int) -> int:
    """Bytes a sqrt over ``size`` elements reads plus writes: ``2 * size * itemsize``.

    The same for every variant: allocating, ``out=`` and in-place each read every input
    element once and write one result; the strided variant counts the ``size`` elements it
    uses, not the skipped ones its cache lines drag along (its copy roofline drags them too).
    """
    if size < 0 or itemsize <= 0:
        raise ValueError(f"size must be >= 0 and itemsize > 0, got size={size}, itemsize={itemsize}")
    return 2 * size * itemsize


def gigabytes_per_second(nbytes: int, seconds: float) -> float:
    """Effective bandwidth in GB/s (10**9 bytes per second)."""
    return nbytes / _positive(seconds) / 1e9


def elements_per_second(size: int, seconds: float) -> float:
    """Elements processed per second."""
    return size / _positive(seconds)


def roofline_fraction(copy_seconds: float, sqrt_seconds: float) -> float:
    """Same-run copy time over sqrt time: 1.0 means sqrt runs at memory speed."""
    return _positive(copy_seconds) / _positive(sqrt_seconds)


def speedup(baseline_seconds: float, candidate_seconds: float) -> float:
    """How many times faster the candidate is than the baseline (> 1: faster)."""
    return _positive(baseline_seconds) / _positive(candidate_seconds)


def microseconds(seconds: float) -> float:
    """``seconds`` in microseconds."""
    return seconds * 1e6


def _positive(seconds: float) -> float:
    if not seconds > 0:
        raise ValueError(f"a duration must be positive, got {seconds!r}")
    return seconds


@dataclass(frozen=True)
class Case:
    """One thing to time: ``call``, after an untimed ``prepare`` (e.g. a fresh in-place copy)."""

    call: Callable[[], object]
    prepare: Callable[[], object] | None = None


@dataclass(frozen=True)
class Budget:
    """How long to sample: at least ``min_samples`` per case, then until ``max_seconds``."""

    min_samples: int = 10
    max_samples: int = 200
    max_seconds: float = 1.5
    warmup_calls: int = 2

    def per_pass(self, passes: int) -> Budget:
        """This budget's share for one of ``passes`` passes (each pass warms up again)."""
        if passes < 1:
            raise ValueError(f"passes must be >= 1, got {passes}")
        return replace(
            self,
            min_samples=math.ceil(self.min_samples / passes),
            max_samples=math.ceil(self.max_samples / passes),
            max_seconds=self.max_seconds / passes,
        )


def sample_seconds(
    cases: Mapping[str, Case],
    sync: Callable[[], None],
    budget: Budget = Budget(),
    calls_per_sample: int = 1,
) -> dict[str, list[float]]:
    """Seconds per call of each case, sampled round-robin so that drift hits every case alike.

    Each sample times ``calls_per_sample`` back-to-back calls between two ``sync()`` calls
    (GPU work is asynchronous); cases with a ``prepare`` step are timed one call at a time.
    Warm-up calls (allocation, compilation, page faults) run before any timing.
    """
    if calls_per_sample < 1:
        raise ValueError(f"calls_per_sample must be >= 1, got {calls_per_sample}")
    for case in cases.values():
        for _ in range(budget.warmup_calls):
            if case.prepare is not None:
                case.prepare()
            case.call()
    sync()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    started = time.perf_counter()
    for count in range(budget.max_samples):
        if count >= budget.min_samples and time.perf_counter() - started > budget.max_seconds:
            break
        for name, case in cases.items():
            samples[name].append(_time_once(case, sync, calls_per_sample))
    return samples


def _time_once(case: Case, sync: Callable[[], None], calls: int) -> float:
    if case.prepare is not None:
        case.prepare()
        calls = 1
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        case.call()
    sync()
    return (time.perf_counter() - start) / calls


def median(samples: list[float]) -> float:
    """The median of ``samples`` (robust to the odd descheduled sample)."""
    if not samples:
        raise ValueError("no samples")
    return statistics.median(samples)
