"""The throughput arithmetic and the in-process sampler behind the track_* benchmarks."""

from __future__ import annotations

import math

import pytest

from benchmarks import metrics


@pytest.mark.parametrize(
    ("size", "itemsize", "expected"),
    [(1, 4, 8), (1_000, 2, 4_000), (10_000_000, 16, 320_000_000), (0, 8, 0)],
)
def test_bytes_moved_counts_one_read_and_one_write_per_element(size, itemsize, expected):
    assert metrics.bytes_moved(size, itemsize) == expected


@pytest.mark.parametrize(("size", "itemsize"), [(-1, 4), (10, 0)])
def test_bytes_moved_rejects_impossible_sizes(size, itemsize):
    with pytest.raises(ValueError, match="size"):
        metrics.bytes_moved(size, itemsize)


def test_bandwidth_of_80_mb_in_10_ms_is_8_gb_per_s():
    nbytes = metrics.bytes_moved(10_000_000, 4)  # float32: 40 MB read + 40 MB written
    assert metrics.gigabytes_per_second(nbytes, 0.010) == pytest.approx(8.0)
    assert metrics.elements_per_second(10_000_000, 0.010) == pytest.approx(1e9)


def test_roofline_fraction_is_copy_time_over_sqrt_time():
    assert metrics.roofline_fraction(copy_seconds=0.010, sqrt_seconds=0.040) == pytest.approx(0.25)
    assert metrics.roofline_fraction(0.010, 0.010) == 1.0


def test_speedup_and_microseconds():
    assert metrics.speedup(baseline_seconds=0.3, candidate_seconds=0.1) == pytest.approx(3.0)
    assert metrics.microseconds(2.5e-6) == pytest.approx(2.5)


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan])
def test_durations_must_be_positive(seconds):
    with pytest.raises(ValueError, match="positive"):
        metrics.gigabytes_per_second(8, seconds)
    with pytest.raises(ValueError, match="positive"):
        metrics.roofline_fraction(seconds, 1.0)


def test_median_of_samples():
    assert metrics.median([3.0, 1.0, 100.0]) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        metrics.median([])


def test_sampler_prepares_before_every_call_and_alternates_cases():
    events = []
    cases = {
        "sqrt": metrics.Case(call=lambda: events.append("call"), prepare=lambda: events.append("prepare")),
        "copy": metrics.Case(call=lambda: events.append("copy")),
    }
    budget = metrics.Budget(min_samples=3, max_samples=3, max_seconds=0.0, warmup_calls=1)
    samples = metrics.sample_seconds(cases, sync=lambda: events.append("sync"), budget=budget)

    assert {name: len(values) for name, values in samples.items()} == {"sqrt": 3, "copy": 3}
    assert all(value >= 0 for values in samples.values() for value in values)
    timed = [e for e in events if e != "sync"][3:]  # after the warm-up: prepare, call, copy
    assert timed == ["prepare", "call", "copy"] * 3


def test_sampler_times_blocks_of_calls_between_two_syncs():
    events = []
    case = metrics.Case(call=lambda: events.append("call"))
    budget = metrics.Budget(min_samples=2, max_samples=2, max_seconds=0.0, warmup_calls=0)
    metrics.sample_seconds({"x": case}, sync=lambda: events.append("sync"), budget=budget, calls_per_sample=4)
    assert events == ["sync"] + (["sync"] + ["call"] * 4 + ["sync"]) * 2


def test_sampler_stops_at_the_time_budget_after_the_minimum():
    budget = metrics.Budget(min_samples=2, max_samples=10_000, max_seconds=0.0, warmup_calls=0)
    samples = metrics.sample_seconds({"x": metrics.Case(call=lambda: None)}, sync=lambda: None, budget=budget)
    assert len(samples["x"]) == 2


def test_budget_per_pass_splits_time_and_rounds_sample_counts_up():
    share = metrics.Budget(min_samples=10, max_samples=200, max_seconds=1.5, warmup_calls=2).per_pass(4)
    assert share == metrics.Budget(min_samples=3, max_samples=50, max_seconds=0.375, warmup_calls=2)
    with pytest.raises(ValueError, match="passes"):
        metrics.Budget().per_pass(0)
