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
    normalized = log.copy()
    divisors = np.ones_like(log)
    shifts = []
    threshold = math.log1p(min_effect)
    since = 0  # levels restart at a run that changed for a known reason (not a candidate)
    for run in range(log.shape[1]):
        if candidates is not None and not candidates[run]:
            since = run
            continue
        ratios = np.full(log.shape[0], np.nan)
        for row in range(log.shape[0]):
            history = normalized[row, since:run]
            history = history[~np.isnan(history)][-BASELINE_POINTS:]
            if not np.isnan(log[row, run]) and len(history) >= 2:
                ratios[row] = log[row, run] - np.median(history)
        known = ratios[~np.isnan(ratios)]
        if len(known) < MIN_SERIES:
            continue
        shift = float(np.median(known))
        share = float(np.mean(np.sign(known) * np.sign(shift) * (np.abs(known) >= threshold) > 0))
        if abs(shift) < threshold or share < MIN_SHARE_MOVED:
            continue
        shifts.append(RunShift(run, math.exp(shift), share, len(known)))
        moved_along = np.abs(ratios - shift) <= abs(shift) / 2
        divisors[:, run] = np.where(moved_along, math.exp(shift), np.nan)
        # Later runs are judged against levels with this run's shift taken out.
        normalized[:, run] = np.where(moved_along, log[:, run] - shift, np.nan)
    return shifts, divisors
