"""Change points of plain series: each must / must-not of detection, conbench style."""

from __future__ import annotations

import numpy as np
import pytest

from sqrtwatch.db.detection.changepoints import DetectionConfig, find_changes, find_deterministic_changes
from sqrtwatch.db.detection.runwide import find_run_wide_shifts

N = 30


def noisy(levels: list[float], noise: float = 0.01, seed: int = 3) -> tuple[list[float], list[list[float]]]:
    """Points around ``levels`` with run-to-run noise, and seven samples around each point."""
    rng = np.random.default_rng(seed)
    points = np.asarray(levels) * np.exp(rng.normal(0, noise, len(levels)))
    samples = points[:, None] * np.exp(rng.normal(0, noise / 2, (len(levels), 7)))
    return np.median(samples, axis=1).tolist(), samples.tolist()


def step(at: int, factor: float) -> list[float]:
    return [1e-4 * (factor if i >= at else 1.0) for i in range(N)]


def with_point(index: int, factor: float) -> list[float]:
    return [1e-4 * (factor if i == index else 1.0) for i in range(N)]


def drift(first: int, steps: int, each: float, spacing: int = 3) -> list[float]:
    return [1e-4 * (1 + each) ** sum(i >= first + k * spacing for k in range(steps)) for i in range(N)]


# (levels, expected changes as (first index, "up"/"down", shape))
CASES = {
    "flat noise": (step(0, 1.0), []),
    "step up": (step(15, 1.3), [(15, "up", "step")]),
    "step down (improvement)": (step(12, 0.7), [(12, "down", "step")]),
    "small step above the minimum effect": (step(15, 1.08), [(15, "up", "step")]),
    "step below the minimum effect": (step(15, 1.03), []),
    "single slow run": (with_point(14, 1.8), []),
    "two isolated slow runs": (
        [v * (1.6 if i in (8, 20) else 1) for i, v in enumerate(step(0, 1.0))],
        [],
    ),
    "newest commit": (with_point(N - 1, 1.4), [(N - 1, "up", "newest")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_changes_of_series(name):
    levels, expected = CASES[name]
    values, samples = noisy(levels, noise=0.005)
    changes = find_changes(values, samples)
    found = [(c.after, "up" if c.ratio > 1 else "down", c.shape) for c in changes]
    assert found == expected


def test_drift_of_small_steps_is_one_change_from_its_first_step():
    values, samples = noisy(drift(10, 4, 0.03), noise=0.005)
    (change,) = find_changes(values, samples)
    assert change.shape == "drift"
    assert change.after in (9, 10)  # point 9 is 3 sigma high: the first step is ambiguous by one
    assert change.ratio == pytest.approx(1.03**4, rel=0.02)


def test_newest_commit_needs_an_established_history():
    values, samples = noisy([1e-4, 1e-4, 1e-4, 1.5e-4], noise=0.005)
    assert find_changes(values, samples) == []


def test_noisy_series_needs_a_bigger_step():
    values, samples = noisy(step(15, 1.08), noise=0.05, seed=5)
    assert find_changes(values, samples) == []
    values, samples = noisy(step(15, 1.6), noise=0.05, seed=5)
    assert [c.after for c in find_changes(values, samples)] == [15]


def test_minimum_effect_is_configurable():
    values, samples = noisy(step(15, 1.08), noise=0.002)
    assert find_changes(values, samples, DetectionConfig(min_effect=0.1)) == []
    assert len(find_changes(values, samples, DetectionConfig(min_effect=0.05))) == 1


def test_levels_and_ratio_of_a_change():
    values, samples = noisy(step(15, 2.0), noise=0.002)
    (change,) = find_changes(values, samples)
    assert change.level_before == pytest.approx(1e-4, rel=0.01)
    assert change.ratio == pytest.approx(2.0, rel=0.02)
    assert change.p_value is not None and change.p_value < 0.01


def test_points_without_samples_use_point_values():
    values, _ = noisy(step(15, 1.5), noise=0.005)
    assert [c.after for c in find_changes(values, None)] == [15]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 0, 0, 0], []),
        ([0, 0, 3, 3], [(2, 0.0, 3.0)]),
        ([0.5, 0.5, 0.5, 0.75], [(3, 0.5, 0.75)]),
        ([2, 2, 1, 1], [(2, 2.0, 1.0)]),
    ],
)
def test_accuracy_series_every_change_counts(values, expected):
    found = [(c.after, c.level_before, c.level_after) for c in find_deterministic_changes(values)]
    assert found == expected


def run_matrix(series: int = 10, runs: int = 20, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    levels = rng.uniform(1e-5, 1e-3, (series, 1))
    return levels * np.exp(rng.normal(0, 0.01, (series, runs)))


def test_run_wide_shift_is_found_and_divided_out():
    matrix = run_matrix()
    matrix[:9, 12] *= 1.4  # nine of ten series slower in run 12
    shifts, divisors = find_run_wide_shifts(matrix)
    assert [s.run for s in shifts] == [12]
    assert shifts[0].factor == pytest.approx(1.4, rel=0.03)
    assert np.allclose(divisors[:9, 12], shifts[0].factor)
    # The series that did not move with its run says nothing reliable there.
    assert np.isnan(divisors[9, 12])
    assert np.all(divisors[:, :12] == 1.0)


def test_one_series_moving_is_not_run_wide():
    matrix = run_matrix()
    matrix[0, 12:] *= 1.5
    shifts, divisors = find_run_wide_shifts(matrix)
    assert shifts == []
    assert np.all(divisors == 1.0)


def test_run_wide_candidates_exclude_runs():
    matrix = run_matrix()
    matrix[:, 12:] *= 1.4  # e.g. a torch upgrade: everything moved, for a reason
    candidates = np.ones(matrix.shape[1], dtype=bool)
    candidates[12] = False
    shifts, _ = find_run_wide_shifts(matrix, candidates=candidates)
    assert 12 not in [s.run for s in shifts]


@pytest.mark.parametrize("seed", [0, 2, 3])
@pytest.mark.parametrize("length", [N, 17])  # the whole series, and the pass the night after the change
def test_a_boundary_next_to_a_recorded_context_change_moves_onto_it(seed, length):
    """Night 15 changed threads and measured half way (x1.08), night 16 on the new level (x1.5)."""
    levels = [1e-4 * (1.0 if i < 15 else (1.08 if i == 15 else 1.5)) for i in range(length)]
    values, samples = noisy(levels, noise=0.01, seed=seed)
    assert [c.after for c in find_changes(values, samples)] == [16]  # the fit alone splits after it
    (change,) = find_changes(values, samples, events=(15,))
    assert change.after == 15 and change.ratio > 1.2
    # An event further away than EVENT_SNAP does not pull the boundary.
    assert [c.after for c in find_changes(values, samples, events=(12,))] == [16]
