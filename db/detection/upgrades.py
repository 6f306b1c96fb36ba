"""The upgrade view: per hardware, the latest level of each torch version, in release order.

Versions that an asv matrix measured side by side (one environment each) and
versions that followed each other in one environment are compared alike: each
version's level on one machine and hardware (the median of its newest LEVEL_RUNS
runs), against the version released before it. A newer version worse beyond noise
(timings: the benchmark's minimum effect, then a Mann-Whitney U test on the runs'
values once both versions have LEVEL_RUNS runs, else on those runs' pooled samples;
accuracy counts, which are deterministic: any increase) is an upgrade regression
alert, whose cause names both versions, unless a series alert of the same cell
already has that upgrade as its cause (an upgrade in place, found between two runs
of one series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from ..schema.models import STATUS_OK, Alert, Run, utcnow
from ..taxonomy import Kind
from .causes import cause, context_fields
from .changepoints import DetectionConfig, mann_whitney_u
from .series import decode_samples, load_values, params_kind

UPGRADE_SOURCE = "upgrade"
# Runs of a torch version whose median is its level. One run against one run alerted
# on a 10 % night-to-night wobble of a 50 us cell (docs/nightly.md).
LEVEL_RUNS = 5
CELL = ["machine", "hardware", "benchmark", "params"]
VIEW_COLUMNS = [
    *CELL,
    "type",
    "unit",
    "torch_version",
    "env_name",
    "run_id",
    "commit_hash",
    "run_time",
    "value",
    "samples",
    "run_values",
    "run_samples",
]


def release_key(version: str) -> tuple:
    """Sort key of a torch version in release order (packaging's ordering; unparsable ones last)."""
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)


def upgrade_view(session) -> pd.DataFrame:
    """Per (machine, hardware, benchmark, params), the level of each torch version.

    Rows come in release order of ``torch_version`` within each cell. Columns:
    machine, hardware, benchmark, params, type, unit, torch_version, and of the
    version's newest run env_name, run_id, commit_hash, run_time and samples (JSON
    text or None); value is the median of the version's newest LEVEL_RUNS ok values,
    run_values those values and run_samples their samples, oldest first. Only values
    of the benchmark version that the cell's newest value has are compared.
    """
    from ..queries import runs as query_runs

    runs = query_runs(session)
    runs = runs[runs["torch_version"].notna()]
    if runs.empty:
        return pd.DataFrame(columns=VIEW_COLUMNS)
    # The newest runs of each torch version per environment and profile (a quick
    # run measures fewer cells than a full one).
    runs = runs.assign(profile=runs["profile"].fillna(""))
    newest = runs.groupby(["machine", "hardware", "env_name", "torch_version", "profile"]).tail(LEVEL_RUNS)
    values = load_values(session, run_ids=newest["run_id"].tolist(), measured_only=True)
    values = values[values["status"] == STATUS_OK]
    merged = values.merge(
        newest[["run_id", "machine", "hardware", "env_name", "torch_version", "commit_hash", "run_time"]],
        on="run_id",
    )
    merged = merged.sort_values(["run_time", "run_id"], kind="stable")
    newest_version = merged.groupby(CELL)["benchmark_id"].transform("last")
    merged = merged[merged["benchmark_id"] == newest_version]
    versions = merged.groupby([*CELL, "torch_version"], sort=False)
    merged = merged[versions.cumcount(ascending=False) < LEVEL_RUNS]
    versions = merged.groupby([*CELL, "torch_version"], sort=False)
    levels = versions["value"].agg(["median", list])
    samples = versions["samples"].agg(list)
    merged = versions.tail(1).set_index([*CELL, "torch_version"])
    merged = merged.assign(
        value=levels["median"], run_values=levels["list"], run_samples=samples
    ).reset_index()
    ranks = {
        version: rank for rank, version in enumerate(sorted(set(merged["torch_version"]), key=release_key))
    }
    merged = merged.assign(release=merged["torch_version"].map(ranks))
    merged = merged.sort_values([*CELL, "release"], kind="stable")
    return merged[VIEW_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class UpgradeChange:
    """A newer torch version worse than the one released before it, in one cell."""

    before: pd.Series  # the view's row of the older version
    after: pd.Series
    ratio: float | None  # after / before


def upgrade_regressions(
    view: pd.DataFrame, thresholds: dict[str, float], config: DetectionConfig
) -> list[UpgradeChange]:
    """Every consecutive pair of versions in ``view`` where the newer one is worse beyond noise."""
    from .detect import config_for

    if len(view) < 2:
        return []
    # Rows of a cell are adjacent in release order: a pair is a row and the one before it
    # in the same cell. Most pairs are equal or move the right way, so the cheap check on
    # the plain values runs first, on arrays (iterating rows was most of detect's time).
    cells = view[CELL]
    pairs = np.flatnonzero((cells == cells.shift()).all(axis=1).to_numpy())
    values = view["value"].to_numpy(dtype=float)
    columns = [view[name].to_numpy() for name in ("benchmark", "type", "unit", "params")]
    rules: dict[tuple, tuple[Kind, float]] = {}
    found = []
    for position in pairs:
        key = tuple(column[position] for column in columns)
        if key not in rules:
            benchmark, type_, unit, params = key
            rules[key] = (
                params_kind(type_, unit, params),
                config_for(benchmark, thresholds, config).min_effect,
            )
        kind, min_effect = rules[key]
        if not _may_be_worse(
            values[position - 1], values[position], kind.higher_is_better, kind.exact, min_effect
        ):
            continue
        before, after = view.iloc[position - 1], view.iloc[position]
        if _worse(before, after, kind, min_effect, config.alpha):
            ratio = after["value"] / before["value"] if before["value"] else None
            found.append(UpgradeChange(before, after, ratio))
    return found


def _may_be_worse(old: float, new: float, better_up: bool, deterministic: bool, min_effect: float) -> bool:
    """The part of :func:`_worse` that needs only the two values."""
    if deterministic:
        return new < old if better_up else new > old
    if not (math.isfinite(old) and math.isfinite(new)) or old <= 0 or new <= 0:
        return False
    return (old / new if better_up else new / old) - 1 >= min_effect


def _worse(before, after, kind: Kind, min_effect: float, alpha: float) -> bool:
    old, new = float(before["value"]), float(after["value"])
    better_up = kind.higher_is_better
    if not _may_be_worse(old, new, better_up, kind.exact, min_effect):
        return False
    if kind.exact:
        return True
    alternative = "less" if better_up else "greater"
    if min(len(before["run_values"]), len(after["run_values"])) >= LEVEL_RUNS:
        test = mann_whitney_u(after["run_values"], before["run_values"], alternative=alternative)
        return bool(test.pvalue < alpha)
    old_samples, new_samples = (_pooled(row["run_samples"]) for row in (before, after))
    if min(len(old_samples), len(new_samples)) < 2:
        return True  # no samples to test: the effect alone decides
    return bool(mann_whitney_u(new_samples, old_samples, alternative=alternative).pvalue < alpha)


def _pooled(texts: list[str | None]) -> list[float]:
    """The samples of a version's level runs, together."""
    return [x for samples in decode_samples(texts) if samples for x in samples]


def detect_upgrade_alerts(session, thresholds: dict[str, float], config: DetectionConfig, summary) -> None:
    """Bring the upgrade alerts in line with the upgrade view; triage state stays."""
    changes = upgrade_regressions(upgrade_view(session), thresholds, config)
    run_ids = {int(c.before["run_id"]) for c in changes} | {int(c.after["run_id"]) for c in changes}
    contexts = (
        dict(session.execute(select(Run.id, Run.context).where(Run.id.in_(run_ids))).all()) if run_ids else {}
    )
    existing, in_series = {}, set()
    for alert in session.scalars(select(Alert).order_by(Alert.id)):
        if alert.source == UPGRADE_SOURCE:
            existing[_alert_key(alert)] = alert
        elif alert.kind == "regression":
            in_series.add(_alert_key(alert))
    now, seen = utcnow(), set()
    for change in changes:
        before, after = change.before, change.after
        key = (*(str(after[c]) for c in CELL), before["torch_version"], after["torch_version"])
        if key in in_series:
            continue
        fields = cause(
            context_fields(contexts.get(int(before["run_id"])), before["commit_hash"]),
            context_fields(contexts.get(int(after["run_id"])), after["commit_hash"]),
        )
        fields["torch_version"] = [before["torch_version"], after["torch_version"]]
        alert = existing.get(key)
        if alert is None:
            alert = Alert(
                machine=after["machine"],
                hardware=after["hardware"],
                benchmark=after["benchmark"],
                params=after["params"],
                source=UPGRADE_SOURCE,
                kind="regression",
                status="active",
                detected_at=now,
            )
            session.add(alert)
            existing[key] = alert
            summary.new += 1
        else:
            summary.updated += 1
            if alert.resolved:
                summary.reopened += 1
        alert.env_name = after["env_name"]
        alert.commit_before, alert.commit_after = before["commit_hash"], after["commit_hash"]
        alert.run_before_id, alert.run_after_id = int(before["run_id"]), int(after["run_id"])
        alert.value_before, alert.value_after = float(before["value"]), float(after["value"])
        alert.ratio = None if change.ratio is None or not np.isfinite(change.ratio) else float(change.ratio)
        alert.cause = fields
        alert.resolved, alert.resolved_at = False, None
        seen.add(key)
    for key, alert in existing.items():
        if key not in seen and not alert.resolved:
            alert.resolved, alert.resolved_at = True, now
            summary.resolved += 1
    session.flush()


def _alert_key(alert: Alert) -> tuple:
    versions = (alert.cause or {}).get("torch_version") or [None, None]
    return (alert.machine, alert.hardware, alert.benchmark, alert.params, versions[0], versions[1])
