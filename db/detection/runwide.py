"""Run-wide shifts: runs in which most benchmarks moved together.

On shared CI runners a whole run is often slower or faster (another job on the
host, a different CPU model behind the same runner label). Such a run is not a
regression of any one benchmark: its factor is measured here, reported as a
run-wide shift, and divided out of every series before their change points
are looked for, so that one benchmark that moved *against* the run still shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Recent points of a series that define its current level.
BASELINE_POINTS = 5
# A run needs this many series with a baseline to judge whether they moved together.
MIN_SERIES = 4
# Share of a run's series that must have moved in the run's direction.
MIN_SHARE_MOVED = 0.6


@dataclass(frozen=True)
class RunShift:
    """A run whose series moved together by ``factor`` (value / recent level)."""

    run: int  # column index in the matrix
    factor: float
    share_moved: float
    series_count: int


def find_run_wide_shifts(
    matrix: np.ndarray, min_effect: float = 0.05, candidates: np.ndarray | None = None
) -> tuple[list[RunShift], np.ndarray]:
    """Runs of a series x runs matrix of positive values (NaN = none, runs oldest first) that moved together.

    ``candidates`` (a mask over runs) limits which runs may count as shifts: a run
    that changed torch moved everything for a real reason.

    Also returns the divisor per point that takes the shifts out: the run's factor
    for a series that moved with its run, NaN (drop the point) for one that did
    not, since its value then says more about the runner than about the code.
    """
    log = np.log(np.where(np.isfinite(matrix) & (matrix > 0), matrix, np.nan))
    divisors = np.ones_like(log)
    shifts = []
    threshold = math.log1p(min_effect)
    # Each series' last BASELINE_POINTS usable levels since the last run that changed
    # for a known reason (not a candidate), with the shifts already found taken out.
    recent = _RecentLevels(log.shape[0])
    for run in range(log.shape[1]):
        column = log[:, run]
        if candidates is not None and not candidates[run]:
            recent.restart()  # levels restart here: the run's own values begin the new history
            recent.push(column)
            continue
        ratios = column - recent.medians()  # NaN without a value or with fewer than 2 levels
        known = ratios[~np.isnan(ratios)]
        if len(known) >= MIN_SERIES:
            shift = float(np.median(known))
            share = float(np.mean(np.sign(known) * np.sign(shift) * (np.abs(known) >= threshold) > 0))
            if abs(shift) >= threshold and share >= MIN_SHARE_MOVED:
                shifts.append(RunShift(run, math.exp(shift), share, len(known)))
                moved_along = np.abs(ratios - shift) <= abs(shift) / 2
                divisors[:, run] = np.where(moved_along, math.exp(shift), np.nan)
                # Later runs are judged against levels with this run's shift taken out.
                column = np.where(moved_along, column - shift, np.nan)
        recent.push(column)
    return shifts, divisors


class _RecentLevels:
    """The last BASELINE_POINTS non-NaN values of every series, as a ring buffer per row."""

    def __init__(self, rows: int) -> None:
        self.buffer = np.full((rows, BASELINE_POINTS), np.nan)
        self.count = np.zeros(rows, dtype=np.int64)

    def restart(self) -> None:
        self.buffer[:] = np.nan
        self.count[:] = 0

    def push(self, column: np.ndarray) -> None:
        rows = np.flatnonzero(~np.isnan(column))
        self.buffer[rows, self.count[rows] % BASELINE_POINTS] = column[rows]
        self.count[rows] += 1

    def medians(self) -> np.ndarray:
        """Median per row of its levels (as np.median computes it); NaN below 2 levels."""
        size = np.minimum(self.count, BASELINE_POINTS)
        ordered = np.sort(self.buffer, axis=1)  # NaN (unfilled) sort last
        rows = np.arange(len(size))
        upper = ordered[rows, size // 2]
        lower = ordered[rows, np.maximum(size - 1, 0) // 2]
        middle = np.where(size % 2 == 1, upper, (lower + upper) / 2)
        return np.where(size >= 2, middle, np.nan)
