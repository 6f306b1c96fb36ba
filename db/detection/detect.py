"""``sqrtwatch detect``: turn the stored history into alerts, keeping their ids and triage.

A series is one machine x hardware x environment x benchmark x parameter
combination, in run-time order. Per machine, hardware and environment, run-wide
shifts are found and taken out first (:mod:`sqrtwatch.db.detection.runwide`); then
each series' confirmed changes (:mod:`sqrtwatch.db.detection.changepoints`) become
alerts, each with its cause (:mod:`sqrtwatch.db.detection.causes`): the context
fields that differ between the last run before and the first run after. An alert
whose series went back to its old level, or whose change the history no longer
shows, is marked resolved; its triage state is never touched here.

Environments whose runs and detection settings are unchanged since the last pass
are skipped (``detection_state`` holds each one's signature). An environment whose
history only grew at its end (the nightly case) is read from TAIL_RUNS runs before
its new ones: only alerts in the last CONFIRM_WINDOW runs seen before, or later,
can still change, and older unresolved alerts are kept to be resolved by a return
to their level. ``full`` analyses every history whole. Torch upgrades are then
compared version against version (:mod:`sqrtwatch.db.detection.upgrades`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..schema.engine import session_scope
from ..schema.models import Alert, DetectionState, Run, utcnow
from ..worker_pool import worker_pool
from .causes import cause, context_fields
from .changepoints import (
    CONFIRM_WINDOW,
    Change,
    DetectionConfig,
    UnusableSeries,
    find_changes,
    find_deterministic_changes,
)
from .runwide import RunShift, find_run_wide_shifts
from .series import (
    EnvironmentHistory,
    Series,
    environment_histories,
    finite_samples,
)

# asv's default regressions threshold (regex -> minimum relative change: the caller reads them).
DEFAULT_MIN_EFFECT = 0.05
# An alert whose first commit moved by at most this many points is the same alert
# (more history can move a drift's first step or a boundary by a commit).
MATCH_DISTANCE = 2
# Part of every environment's detection signature: bump it when detection changes,
# so that the next pass analyses every environment again.
DETECTION_VERSION = 3
# Runs an incremental pass reads before an environment's new runs: the last
# CONFIRM_WINDOW of them may still move (confirmation looks that far either side of a
# boundary), and the ones before give those changes their level before.
TAIL_RUNS = 2 * CONFIRM_WINDOW
SERIES_SOURCE = "series"
# Environments with at least this many values are searched in worker processes
# (spawning them costs ~2 s; a series of 1,000 points ~15 ms): a nightly incremental
# pass over the full grid (61 runs x 4,279 cells) stays in this process.
POOL_MIN_POINTS = 500_000
MAX_WORKERS = 4


@dataclass
class DetectionSummary:
    """What one detection pass did."""

    series: int = 0
    points: int = 0
    new: int = 0
    updated: int = 0
    resolved: int = 0
    reopened: int = 0
    unchanged: int = 0  # environments skipped: runs and settings as at the last pass
    incremental: int = 0  # environments read from the end only: their history grew at its end
    run_wide_shifts: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # series that could not be analysed, and why

    def summary(self) -> str:
        """One line per fact, for the command line."""
        lines = [
            f"analysed {self.series} series ({self.points} points): {self.new} new alerts, "
            f"{self.updated} updated, {self.resolved} resolved, {self.reopened} reopened"
            + (f"; {self.unchanged} unchanged environments skipped" if self.unchanged else "")
            + (f"; {self.incremental} grown environments read from their end" if self.incremental else "")
        ]
        lines += [f"run-wide shift (not alerted): {shift}" for shift in self.run_wide_shifts]
        lines += [f"warning: series skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class FoundAlert:
    """A change of one series as the alerts table stores it."""

    key: tuple[str, str, str, str, str]  # as Series.key
    commit_before: str | None
    commit_after: str
    run_before_id: int | None
    run_after_id: int
    position: int  # index of the first run after in the series' points
    value_before: float
    value_after: float
    kind: str
    resolved: bool
    cause: dict[str, list]


def config_for(benchmark: str, thresholds: dict[str, float], base: DetectionConfig) -> DetectionConfig:
    """The detection settings of one benchmark: as asv does, the largest matching threshold wins."""
    matching = [value for pattern, value in thresholds.items() if re.search(pattern, benchmark)]
    return replace(base, min_effect=max(matching)) if matching else base


def detect_alerts(
    engine: Engine,
    thresholds: dict[str, float] | None = None,
    config: DetectionConfig | None = None,
    full: bool = False,
    workers: int | None = None,
) -> DetectionSummary:
    """Find every series' changes and bring the alerts table in line with them.

    ``thresholds``: minimum relative change per benchmark regex (asv's
    ``regressions_thresholds``, read by the caller). Environments whose runs and
    detection settings are unchanged since the last pass are skipped (their alerts
    already match their history), and those that only gained newer runs are read
    from their end, unless ``full``. ``workers``: processes for the per-series search
    (default: the CPUs, for environments of at least POOL_MIN_POINTS values; 1 = in
    this process).
    """
    from ..queries import runs as query_runs

    thresholds = thresholds or {}
    config = config or DetectionConfig()
    settings = json.dumps([DETECTION_VERSION, sorted(thresholds.items()), asdict(config)])
    summary = DetectionSummary()
    analyser = _SeriesAnalyser(workers)
    with contextlib.closing(analyser), session_scope(engine) as session:
        runs = query_runs(session)
        by_environment = dict(
            iter(
                runs.groupby(["machine", "env_name", "hardware"], sort=False)[
                    ["run_id", "run_time", "ingested_at"]
                ]
            )
        )
        signatures = {key: _signature(settings, frame) for key, frame in by_environment.items()}
        states = {
            (state.machine, state.env_name, state.hardware): state
            for state in session.scalars(select(DetectionState))
        }
        changed = {
            environment
            for environment, signature in signatures.items()
            if full or environment not in states or states[environment].signature != signature
        }
        summary.unchanged = len(signatures) - len(changed)
        new_runs = {
            environment: count
            for environment in ([] if full else changed)
            if (count := _appended_runs(settings, by_environment[environment], states.get(environment)))
        }
        summary.incremental = len(new_runs)
        existing = _existing_alerts(session)
        tails = {environment: TAIL_RUNS + count for environment, count in new_runs.items()}
        selected = None if len(changed) == len(signatures) else changed
        for history in environment_histories(session, selected, tails, runs):
            fields = _context_fields(session, history)
            zone = (
                max(0, len(history.runs) - new_runs[history.key] - CONFIRM_WINDOW)
                if history.key in new_runs
                else None
            )
            zone_runs = None if zone is None else set(history.runs["run_id"].iloc[zone:].tolist())
            found, undone = _detect_environment(
                history, fields, thresholds, config, summary, analyser, existing, zone, zone_runs
            )
            summary.series += len(history.series)
            summary.points += sum(len(series.values) for series in history.series)
            _reconcile(session, history, found, undone, existing, summary, zone_runs)
        for environment in changed:
            state = states.get(environment) or DetectionState(
                machine=environment[0], env_name=environment[1], hardware=environment[2]
            )
            state.signature, state.detected_at = signatures[environment], utcnow()
            state.newest_run_id = int(by_environment[environment]["run_id"].max())
            session.add(state)
        from .upgrades import detect_upgrade_alerts

        detect_upgrade_alerts(session, thresholds, config, summary)
    return summary


def _signature(settings: str, runs: pd.DataFrame) -> str:
    """A digest of an environment's runs (count, newest id, last ingest) and the detection settings."""
    ingested = runs["ingested_at"].max() if len(runs) else None
    return hashlib.sha256(f"{settings}|{len(runs)}|{runs['run_id'].max()}|{ingested}".encode()).hexdigest()


def _appended_runs(settings: str, runs: pd.DataFrame, state: DetectionState | None) -> int | None:
    """How many runs came after the ones the last pass covered, if they are all that changed.

    None (a full pass) when the covered runs changed (one replaced, removed or
    re-ingested), the settings changed, or a new run is older than a covered one.
    """
    if state is None or state.newest_run_id is None:
        return None
    seen = runs["run_id"] <= state.newest_run_id
    old, new = runs[seen], runs[~seen]
    if new.empty or old.empty or _signature(settings, old) != state.signature:
        return None
    if new["run_time"].min() < old["run_time"].max():
        return None
    return len(new)


def _context_fields(session, history: EnvironmentHistory) -> list[dict]:
    """The context fields (causes.context_fields) of each run of ``history``, in its order."""
    run_ids = history.runs["run_id"].tolist()
    contexts = dict(session.execute(select(Run.id, Run.context).where(Run.id.in_(run_ids))).all())
    return [
        context_fields(contexts.get(run_id), commit)
        for run_id, commit in zip(run_ids, history.runs["commit_hash"])
    ]


def _detect_environment(
    history: EnvironmentHistory,
    fields: list[dict],
    thresholds: dict[str, float],
    config: DetectionConfig,
    summary: DetectionSummary,
    analyser: _SeriesAnalyser,
    existing: dict[tuple, list[Alert]],
    zone: int | None,
    zone_runs: set[int] | None,
) -> tuple[list[FoundAlert], list[Alert]]:
    """The alerts ``history`` shows, and the stored alerts before ``zone`` that its changes undid.

    ``zone``: the first run (index into ``history.runs``) whose changes a pass that
    read only the end of the history may alert on, ``zone_runs`` the ids of the runs
    from there on; both None for a whole history.
    """
    # Runs whose recorded context differs from the run before (anything but the commit).
    changed = np.array([False] + [_context_changed(a, b) for a, b in itertools.pairwise(fields)], dtype=bool)
    divisors = _run_wide_divisors(history, changed, config, summary, zone or 0)
    context_changes = np.cumsum(changed)
    configs: dict[str, DetectionConfig] = {}
    tasks = []
    for series, divisor in zip(history.series, divisors):
        benchmark = series.key[2]
        if benchmark not in configs:
            configs[benchmark] = config_for(benchmark, thresholds, config)
        tasks.append(_series_task(series, divisor, configs[benchmark], context_changes))
    changes = analyser.map(tasks, points=sum(len(series.values) for series in history.series))
    found: list[FoundAlert] = []
    undone: list[Alert] = []
    for series, task, series_changes in zip(history.series, tasks, changes):
        if isinstance(series_changes, str):
            machine, env_name, benchmark, params, hardware = series.key
            where = f"{machine} / {env_name}" + (f" / {hardware}" if hardware else "")
            summary.skipped.append(f"{benchmark} {params} on {where}: {series_changes}")
            continue
        earlier: list[Alert] = []
        if zone is not None and zone_runs is not None:
            series_changes = [c for c in series_changes if series.columns[task.index[c.after]] >= zone]
            # A zone change back to where an earlier alert started is that alert's
            # resolution, also when an earlier pass already resolved it so (a full
            # pass would fold the two changes into one resolved alert).
            earlier = sorted(
                (
                    alert
                    for alert in existing.get(series.key, [])
                    if alert.run_after_id not in zone_runs
                    and alert.value_before is not None
                    and alert.value_after is not None
                ),
                key=lambda alert: (alert.resolved, -alert.id if alert.resolved else alert.id),
            )
        series_found, series_undone = _found_alerts(
            series, task, series_changes, history.runs, fields, earlier
        )
        found += series_found
        undone += series_undone
    return found, undone


def _run_wide_divisors(
    history: EnvironmentHistory,
    context_changed: np.ndarray,
    config: DetectionConfig,
    summary: DetectionSummary,
    zone: int = 0,
) -> list[np.ndarray]:
    """Per timing series, the divisor per run that removes run-wide shifts (NaN: drop the point).

    ``context_changed``: per run, whether its recorded context differs from the run before.
    """
    runs = history.runs
    matrix = np.full((len(history.series), len(runs)), np.nan)
    # Oriented so that a slower runner moves every series up: rates are inverted.
    inverted = np.zeros(len(history.series), dtype=bool)
    for row, series in enumerate(history.series):
        kind = series.kind
        if kind.exact:
            continue
        inverted[row] = kind.higher_is_better
        kept = series.usable() & np.isfinite(series.values) & (series.values > 0)
        values = series.values[kept]
        with np.errstate(over="ignore"):  # 1 / 5e-324 is inf: find_run_wide_shifts drops it
            matrix[row, series.columns[kept]] = 1 / values if inverted[row] else values
    # A run whose recorded context changed (torch, threads, ...) moved for a known
    # reason: its changes are alerted with that cause, not divided out.
    shifts, divisors = find_run_wide_shifts(matrix, config.min_effect, candidates=~context_changed)
    where = f"{history.machine} / {history.env_name}" + (f" / {history.hardware}" if history.hardware else "")
    summary.run_wide_shifts += [_describe_shift(shift, runs, where) for shift in shifts if shift.run >= zone]
    return [1 / row if flip else row for row, flip in zip(divisors, inverted)]


def _describe_shift(shift: RunShift, runs: pd.DataFrame, where: str) -> str:
    commit = runs["commit_hash"].iloc[shift.run][:8]
    return (
        f"{where} at {commit}: x{shift.factor:.2f} "
        f"({shift.share_moved:.0%} of {shift.series_count} series moved together)"
    )


@dataclass(frozen=True)
class SeriesTask:
    """What the change search of one series needs (picklable, for worker processes)."""

    index: np.ndarray  # positions of the points used, in the series
    values: np.ndarray
    sample_texts: list[str | None] | None  # stored samples (JSON); None for deterministic series
    scale: np.ndarray | None  # run-wide divisor per point; None for deterministic series
    config: DetectionConfig
    better_up: bool
    events: tuple[int, ...] = ()  # points (into ``index``) whose run's recorded context changed


def _series_task(
    series: Series, divisor: np.ndarray, config: DetectionConfig, context_changes: np.ndarray
) -> SeriesTask:
    """``context_changes``: per run of the environment, how many recorded context changes up to it."""
    kind = series.kind
    deterministic = kind.exact
    usable = series.usable()
    if not deterministic:
        usable = usable & ~np.isnan(divisor[series.columns])
    index = np.flatnonzero(usable)
    changes = context_changes[series.columns[index]]
    return SeriesTask(
        index=index,
        values=series.values[index],
        sample_texts=None if deterministic else list(series.samples[index]),
        scale=None if deterministic else divisor[series.columns[index]],
        config=config,
        better_up=kind.higher_is_better,
        events=tuple(int(k) for k in np.flatnonzero(np.diff(changes)) + 1),
    )


def analyse_series(task: SeriesTask) -> list[Change] | str:
    """The confirmed changes of one series, shifts divided out (deterministic series: every change).

    A series that cannot be analysed (a negative or infinite time) gives the reason
    instead, so that it costs that series only.
    """
    if task.scale is None or task.sample_texts is None:
        return find_deterministic_changes(task.values)
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            scaled = task.values / task.scale
        return find_changes(scaled, ScaledSamples(task.sample_texts, task.scale), task.config, task.events)
    except (UnusableSeries, ArithmeticError) as error:
        return f"not analysed: {error}"


class ScaledSamples(Sequence):
    """A series' stored samples, each point decoded and divided by its run-wide divisor when read.

    Most series never reach a rank test: decoding all their samples up front was
    most of an incremental pass.
    """

    def __init__(self, texts: list[str | None], scale: np.ndarray) -> None:
        self.texts = texts
        self.scale = scale

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index):
        text = self.texts[index]
        samples = None if text is None else finite_samples(json.loads(text))
        if samples is None:
            return None
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return [x / self.scale[index] for x in samples]


def _context_changed(before: dict, after: dict) -> bool:
    return any(name != "commit" for name in cause(before, after))


def _found_alerts(
    series: Series,
    task: SeriesTask,
    changes: list[Change],
    runs: pd.DataFrame,
    fields: list[dict],
    earlier: list[Alert],
) -> tuple[list[FoundAlert], list[Alert]]:
    """The alerts of one series' changes, and which of the ``earlier`` stored alerts they undid."""
    if not changes:
        return [], []
    commits = runs["commit_hash"].to_numpy()
    run_ids = runs["run_id"].to_numpy()
    stored = [
        Change(-1, -1, float(alert.value_before), float(alert.value_after), None, "stored")  # type: ignore[arg-type]
        for alert in earlier
    ]
    folded = _fold_reversals([*stored, *changes], task.config.min_effect, len(stored))
    undone = [alert for alert, (_, resolved) in zip(earlier, folded) if resolved and not alert.resolved]
    result = []
    for change, resolved in folded[len(stored) :]:
        worse = change.level_after > change.level_before
        before = series.columns[task.index[change.before]]
        after = series.columns[task.index[change.after]]
        result.append(
            FoundAlert(
                key=series.key,
                commit_before=commits[before],
                commit_after=commits[after],
                run_before_id=int(run_ids[before]),
                run_after_id=int(run_ids[after]),
                position=int(task.index[change.after]),
                value_before=change.level_before,
                value_after=change.level_after,
                kind="improvement" if worse == task.better_up else "regression",
                resolved=resolved,
                cause=cause(fields[before], fields[after]),
            )
        )
    return result, undone


class _SeriesAnalyser:
    """Runs :func:`analyse_series` over an environment's series, in worker processes when it is large."""

    def __init__(self, workers: int | None) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def map(self, tasks: list[SeriesTask], points: int) -> list[list[Change] | str]:
        workers = self.workers
        if workers is None:
            workers = min(MAX_WORKERS, os.cpu_count() or 1) if points >= POOL_MIN_POINTS else 1
        if workers < 2 or len(tasks) < 2:
            return [analyse_series(task) for task in tasks]
        if self.pool is None:
            self.pool = worker_pool(workers)
        chunk = max(1, len(tasks) // (workers * 8))
        return list(self.pool.map(analyse_series, tasks, chunksize=chunk))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _fold_reversals(changes: list[Change], min_effect: float, stored: int = 0) -> list[tuple[Change, bool]]:
    """Changes to alert on, each with whether the series went back to its level before it.

    A change that only brings the series back to where an earlier change left it is
    that earlier alert's resolution, not an alert of its own. The first ``stored``
    changes (alerts a pass before this one kept) are never folded into each other.
    """
    kept: list[tuple[Change, bool]] = [(change, False) for change in changes[:stored]]
    for change in changes[stored:]:
        undone = next(
            (
                k
                for k, (earlier, resolved) in enumerate(kept)
                if not resolved
                and (earlier.ratio > 1) != (change.ratio > 1)
                and _close(change.level_after, earlier.level_before, min_effect)
            ),
            None,
        )
        if undone is None:
            kept.append((change, False))
        else:
            kept[undone] = (kept[undone][0], True)
    return kept


def _close(a: float, b: float, min_effect: float) -> bool:
    if a == b:
        return True
    if a <= 0 or b <= 0:
        return False
    return abs(math.log(a / b)) < math.log1p(max(min_effect, 1e-9))


def _existing_alerts(session) -> dict[tuple, list[Alert]]:
    """Every stored alert of a series (not of an upgrade), by series key."""
    existing: dict[tuple, list[Alert]] = {}
    for alert in session.scalars(select(Alert).where(Alert.source == SERIES_SOURCE).order_by(Alert.id)):
        key = (alert.machine, alert.env_name, alert.benchmark, alert.params, alert.hardware)
        existing.setdefault(key, []).append(alert)
    return existing


def _reconcile(
    session,
    history: EnvironmentHistory,
    found: list[FoundAlert],
    undone: list[Alert],
    existing: dict[tuple, list[Alert]],
    summary,
    zone_runs: set[int] | None,
) -> None:
    """Insert, update and resolve one environment's alerts so that they match ``found``; triage stays.

    With ``zone_runs``, only the stored alerts whose first run after is one of them are
    matched or resolved; of the earlier ones, those in ``undone`` are resolved.
    """
    run_ids = history.runs["run_id"].to_numpy()

    def in_scope(alert: Alert) -> bool:
        return zone_runs is None or alert.run_after_id in zone_runs

    by_key = {series.key: series for series in history.series}
    positions: dict[tuple, dict[int, int]] = {}
    matched: set[int] = set()  # id() of the alerts found again (new ones have no database id yet)
    now = utcnow()
    for stale in undone:
        stale.resolved, stale.resolved_at = True, now
        summary.resolved += 1
    for item in found:
        candidates = [
            a
            for a in existing.get(item.key, [])
            if a.kind == item.kind and id(a) not in matched and in_scope(a)
        ]
        if candidates and item.key not in positions:
            positions[item.key] = {
                int(run_id): i for i, run_id in enumerate(run_ids[by_key[item.key].columns])
            }
        alert = _closest(candidates, item, positions.get(item.key, {}))
        if alert is None:
            alert = Alert(
                machine=item.key[0],
                env_name=item.key[1],
                benchmark=item.key[2],
                params=item.key[3],
                hardware=item.key[4],
                source=SERIES_SOURCE,
                kind=item.kind,
                commit_after=item.commit_after,
                status="active",
                detected_at=now,
            )
            session.add(alert)
            existing.setdefault(item.key, []).append(alert)
            summary.new += 1
        else:
            summary.updated += 1
            if alert.resolved and not item.resolved:
                summary.reopened += 1
        if item.resolved and not alert.resolved:
            summary.resolved += 1
        alert.commit_before = item.commit_before
        alert.commit_after = item.commit_after
        alert.run_before_id = item.run_before_id
        alert.run_after_id = item.run_after_id
        alert.cause = item.cause
        alert.value_before = item.value_before
        alert.value_after = item.value_after
        alert.ratio = item.value_after / item.value_before if item.value_before else None
        alert.resolved = item.resolved
        alert.resolved_at = (alert.resolved_at or now) if item.resolved else None
        matched.add(id(alert))
    # Alerts of analysed series that the history no longer shows (a newest-commit
    # change the next run did not confirm, or a history restarted by a new version).
    for key in by_key:
        for alert in existing.get(key, []):
            if id(alert) not in matched and not alert.resolved and in_scope(alert):
                alert.resolved, alert.resolved_at = True, now
                summary.resolved += 1
    session.flush()


def _closest(candidates: list[Alert], item: FoundAlert, positions: dict[int, int]) -> Alert | None:
    """The stored alert that ``item`` continues: same first run, or one at most a few points away."""
    best: Alert | None = None
    best_distance: float = MATCH_DISTANCE + 1
    for alert in candidates:
        position = positions.get(alert.run_after_id) if alert.run_after_id is not None else None
        distance = (
            0
            if alert.run_after_id == item.run_after_id
            else (abs(position - item.position) if position is not None else math.inf)
        )
        if distance < best_distance:
            best, best_distance = alert, distance
    return best
