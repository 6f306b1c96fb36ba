"""Change points of one benchmark series, on plain arrays (no database).

asv's Potts-model step fitting (``asv.step_detect``) proposes the segmentation;
each proposed boundary must then be *confirmed*: a large enough effect, large
against the series' own run-to-run noise, and a Mann-Whitney U test between the
stored samples on either side. Unconfirmed boundaries are merged away, weakest
first, which is what lets a drift of several small steps surface as one change
once its steps add up. The newest point gets its own check against the
established recent level, which plain step fitting misses. A boundary within
EVENT_SNAP points of a recorded context change (a torch upgrade, a thread count)
is moved onto it and confirmed there: on a night half way between two levels
the fit can split either side, and the change is the event's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from asv.step_detect import solve_potts_approx

# Median absolute deviation of a normal distribution is 0.6745 sigma.
MAD_TO_SIGMA = 1.0 / 0.6745
# Potts penalty per boundary, in run-to-run noise units times log(points).
POTTS_PENALTY = 3.0
# Longest level inside a drift: steps further apart are separate changes.
DRIFT_MAX_GAP = 6
# Points on either side of a boundary that the confirmation looks at: enough
# for the tests, local enough that an old level does not blur a recent change.
CONFIRM_WINDOW = 20
# Points a proposed boundary may lie from a recorded context change and still be moved onto it.
EVENT_SNAP = 2


class UnusableSeries(ValueError):
    """A series whose values cannot be analysed on a log scale; the message says why."""


@dataclass(frozen=True)
class DetectionConfig:
    """Thresholds a change must pass to be reported (defaults: docs/detection.md)."""

    min_effect: float = 0.05  # smallest relative change reported (0.05 = 5 %)
    alpha: float = 0.01  # Mann-Whitney U significance level
    min_z: float = 4.0  # level difference in standard errors of run-to-run noise
    min_segment: int = 2  # points a level needs, except at the newest commit
    min_history: int = 5  # established points needed before a newest-commit change


@dataclass(frozen=True)
class Change:
    """A confirmed change of level between ``before`` and ``after`` (indices into the series)."""

    before: int  # last index at the old level
    after: int  # first index showing the change
    level_before: float
    level_after: float
    p_value: float | None
    shape: str  # "step", "drift" (several small steps) or "newest" (a single new point)

    @property
    def ratio(self) -> float:
        return self.level_after / self.level_before if self.level_before else math.inf


def run_noise(log_values: np.ndarray) -> float:
    """Robust run-to-run standard deviation of a log series (MAD of first differences)."""
    if len(log_values) < 3:
        return 0.0
    diffs = np.diff(log_values)
    return float(np.median(np.abs(diffs - np.median(diffs))) * MAD_TO_SIGMA / math.sqrt(2))


def find_changes(
    values: Sequence[float],
    samples: Sequence[Sequence[float] | None] | None = None,
    config: DetectionConfig = DetectionConfig(),
    events: Sequence[int] = (),
) -> list[Change]:
    """Confirmed level changes of a timing-like series of positive values, oldest first.

    ``values`` holds one point per run (already without failed or missing points);
    ``samples`` the raw samples of each point, or None where none were stored (read
    only where a rank test needs them: it may decode them lazily). Raises
    :class:`UnusableSeries` for a value, or a sample read, that is not finite and
    positive (its logarithm would be NaN or infinite and stall the solver).
    ``events``: indices of the points whose run's recorded context differs from the
    point before (see EVENT_SNAP).
    """
    y = _log_of_positive(values, "value")
    if len(y) < 2:
        return []
    fit = _Fit(y, samples if samples is not None else [None] * len(y), config, events)
    raw = fit.snap(fit.propose())
    fit.find_drifts(raw)
    fit.merge(raw)
    fit.check_newest()
    return fit.changes()


def _log_of_positive(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        raise UnusableSeries(f"{what} {float(array[bad][0])} is not a finite positive number")
    return np.log(array)


class _Fit:
    """A segmentation of one log series, reduced to its confirmed boundaries."""

    def __init__(
        self,
        y: np.ndarray,
        samples: Sequence[Sequence[float] | None],
        config: DetectionConfig,
        events: Sequence[int] = (),
    ) -> None:
        self.y = y
        self.events = sorted(e for e in events if 0 < e < len(y))
        self.samples = samples
        self._log_samples: dict[int, np.ndarray | None] = {}
        self.config = config
        self.sigma = max(run_noise(y), 1e-4)
        self.bounds: list[int] = []  # first index of every segment but the first
        self.drifts: dict[int, int] = {}  # first step of a confirmed drift -> its last step
        self._tests: dict[tuple, tuple[bool, float, float | None]] = {}

    def log_samples(self, index: int) -> np.ndarray | None:
        """The logarithms of point ``index``'s samples (None: none stored), computed once."""
        if index not in self._log_samples:
            samples = self.samples[index]
            self._log_samples[index] = (
                _log_of_positive(samples, "sample") if samples is not None and len(samples) else None
            )
        return self._log_samples[index]

    def segments(self) -> list[tuple[int, int]]:
        edges = [0, *self.bounds, len(self.y)]
        return list(itertools.pairwise(edges))

    def test(self, before: tuple[int, int], after: tuple[int, int]) -> tuple[bool, float, float | None]:
        """Whether the level change between two adjacent ranges is confirmed, its z score and p."""
        # Merging re-tests every boundary after each removal; only the removed one's
        # neighbours changed, so earlier answers are reused (a rank test costs ~1 ms).
        key = (before, after)
        if key not in self._tests:
            self._tests[key] = self._test(before, after)
        return self._tests[key]

    def _test(self, before: tuple[int, int], after: tuple[int, int]) -> tuple[bool, float, float | None]:
        lo, mid, hi = self._windows(before, after)
        yb, ya = self.y[lo:mid], self.y[mid:hi]
        effect = float(np.median(ya) - np.median(yb))
        z = effect / (self.sigma * math.sqrt(1 / len(yb) + 1 / len(ya)))
        # Logs of doubles differ by at most ~1,500: the clamp only avoids expm1's overflow.
        large = abs(math.expm1(min(effect, 700.0))) >= self.config.min_effect and abs(z) >= self.config.min_z
        # The rank test is most of detect's time: run it only where it can still decide.
        p = self._p_value(range(lo, mid), range(mid, hi)) if large else None
        confirmed = large and (p is None or p < self.config.alpha)
        return confirmed, z, p

    def _windows(self, before: tuple[int, int], after: tuple[int, int]) -> tuple[int, int, int]:
        """The ranges a test compares: up to CONFIRM_WINDOW points on each side of the boundary."""
        return max(before[0], before[1] - CONFIRM_WINDOW), before[1], min(after[1], after[0] + CONFIRM_WINDOW)

    def p_value(self, before: tuple[int, int], after: tuple[int, int]) -> float | None:
        """The rank test's p between two adjacent ranges, as :meth:`test` windows them."""
        lo, mid, hi = self._windows(before, after)
        return self._p_value(range(lo, mid), range(mid, hi))

    def _p_value(self, before: range, after: range) -> float | None:
        """Mann-Whitney U between pooled samples, else between point values if they can be significant."""
        sb = [s for i in before if (s := self.log_samples(i)) is not None]
        sa = [s for i in after if (s := self.log_samples(i)) is not None]
        if sb and sa:
            return float(mann_whitney_u(np.concatenate(sb), np.concatenate(sa)).pvalue)
        if len(before) + len(after) >= 8:
            return float(
                mann_whitney_u(self.y[before.start : before.stop], self.y[after.start : after.stop]).pvalue
            )
        return None  # too few points for a rank test: effect size and noise decide

    def propose(self) -> list[int]:
        """Candidate boundaries: asv's Potts solver with a penalty set from this series' noise.

        asv's automatic penalty models a ramp as correlated noise and so never splits
        a drift; a fixed, low penalty over-segments instead, and confirmation prunes.
        """
        gamma = POTTS_PENALTY * self.sigma * math.log(len(self.y))
        rights, _, _ = solve_potts_approx(list(self.y), [1.0] * len(self.y), gamma=gamma)
        return list(rights[:-1])

    def snap(self, raw: list[int]) -> list[int]:
        """The proposed boundaries, each within EVENT_SNAP points of a recorded context change moved onto it."""
        return sorted({self.snapped(bound) for bound in raw})

    def snapped(self, bound: int, lowest: int = 1) -> int:
        """``bound``, or the nearest recorded context change (not below ``lowest``) within EVENT_SNAP points."""
        near = [e for e in self.events if abs(e - bound) <= EVENT_SNAP and e >= lowest]
        return min(near, key=lambda e: (abs(e - bound), e)) if near else bound

    def find_drifts(self, raw: list[int]) -> None:
        """Runs of closely spaced raw steps in one direction whose sum is a confirmed change.

        A step onto a recorded context change starts a run of its own: what changed there
        is not part of a gradual drift before it.
        """
        edges = [0, *raw, len(self.y)]
        levels = [np.median(self.y[a:b]) for a, b in itertools.pairwise(edges)]
        signs = np.sign(np.diff(levels))
        k = 0
        while k < len(raw):
            end = k
            while (
                end + 1 < len(raw)
                and signs[end + 1] == signs[k]
                and raw[end + 1] - raw[end] <= DRIFT_MAX_GAP
                and raw[end + 1] not in self.events
            ):
                end += 1
            if end > k:
                confirmed, _, _ = self.test((edges[k], edges[k + 1]), (edges[end + 1], edges[end + 2]))
                if confirmed:
                    self.drifts[raw[k]] = raw[end]
            k = end + 1

    def merge(self, proposed: list[int]) -> None:
        """Keep the proposed boundaries that survive confirmation, merging the weakest first.

        A confirmed drift keeps its first step and loses its later ones.
        """
        inside_drifts = {b for first, last in self.drifts.items() for b in proposed if first < b <= last}
        self.bounds = sorted(set(proposed) - inside_drifts)
        while self.bounds:
            segments = self.segments()
            weakest, weakest_z = None, math.inf
            for k in range(len(self.bounds)):
                if self.bounds[k] in self.drifts:
                    continue
                before, after = segments[k], segments[k + 1]
                is_last = k + 1 == len(segments) - 1
                too_short = (before[1] - before[0] < self.config.min_segment) or (
                    after[1] - after[0] < self.config.min_segment
                    and not (is_last and before[1] - before[0] >= self.config.min_history)
                )
                confirmed, z, _ = self.test(before, after)
                score = 0.0 if too_short else abs(z)
                if (too_short or not confirmed) and score < weakest_z:
                    weakest, weakest_z = k, score
            if weakest is None:
                return
            del self.bounds[weakest]

    def check_newest(self) -> None:
        """Split off the newest point when it left the established recent level."""
        newest = len(self.y) - 1
        start = self.bounds[-1] if self.bounds else 0
        first = self.snapped(newest, lowest=start + self.config.min_history)
        if first in self.bounds or first - start < self.config.min_history:
            return
        confirmed, _, _ = self.test((start, first), (first, newest + 1))
        if confirmed:
            self.bounds.append(first)

    def changes(self) -> list[Change]:
        """The confirmed boundaries as changes, with levels measured away from any drift's ramp."""
        segments = self.segments()
        result = []
        for k, first in enumerate(self.bounds):
            before, after = segments[k], segments[k + 1]
            last = self.drifts.get(first, first)
            _, _, p = self.test(before, (last, after[1]))
            if p is None:  # the test stopped at the effect size or z score (a drift's ramp)
                p = self.p_value(before, (last, after[1]))
            if first in self.drifts:
                shape = "drift"
            elif first == len(self.y) - 1:
                shape = "newest"
            else:
                shape = "step"
            result.append(
                Change(
                    before=first - 1,
                    after=first,
                    level_before=float(
                        np.exp(np.median(self.y[max(before[0], first - CONFIRM_WINDOW) : first]))
                    ),
                    level_after=float(np.exp(np.median(self.y[last : min(after[1], last + CONFIRM_WINDOW)]))),
                    p_value=p,
                    shape=shape,
                )
            )
        return result


def find_deterministic_changes(values: Sequence[float] | np.ndarray) -> list[Change]:
    """Every change of a deterministic series (accuracy counts, ulp): any difference is real."""
    result = []
    for i in range(1, len(values)):
        before, after = float(values[i - 1]), float(values[i])
        if not math.isclose(before, after, rel_tol=1e-9, abs_tol=0.0):
            result.append(Change(i - 1, i, before, after, None, "newest" if i == len(values) - 1 else "step"))
    return result


def mann_whitney_u(*args, **kwargs):
    """SciPy's Mann-Whitney U test, imported on first use: scipy.stats costs a second to import,
    and a nightly ``detect`` where nothing moved runs no rank test at all."""
    from scipy.stats import mannwhitneyu

    return mannwhitneyu(*args, **kwargs)
