"""Alerts: listing, formatting (json, markdown, text) and triage (acknowledge, dismiss, reopen).

Triage records who decided, why and when; detection never changes it, so a
decision survives every later ``sqrtwatch detect``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..schema.engine import session_scope
from ..schema.models import Alert, utcnow
from .causes import describe

TRIAGE_STATUSES = ("active", "acknowledged", "dismissed")
LIST_STATUSES = (*TRIAGE_STATUSES, "all")
FORMATS = ("json", "markdown", "text")
# Fields of ``alerts --format json`` (DESIGN.md), then sqrtwatch's extensions.
CONTRACT_FIELDS = (
    "id",
    "benchmark",
    "params",
    "machine",
    "env_name",
    "commit_before",
    "commit_after",
    "value_before",
    "value_after",
    "ratio",
    "kind",
    "status",
    "detected_at",
    "cause",
)
EXTRA_FIELDS = (
    "hardware",
    "source",
    "run_before_id",
    "run_after_id",
    "resolved",
    "resolved_at",
    "triaged_by",
    "triage_note",
    "triaged_at",
)


class AlertError(ValueError):
    """An alert cannot be found or given that status; the message says why."""


def list_alerts(engine: Engine, status: str = "active") -> list[dict[str, Any]]:
    """Alerts as plain records, regressions first, then by size of the change.

    ``active`` lists the alerts needing attention (active and not resolved);
    ``acknowledged``/``dismissed`` those triaged so; ``all`` every alert.
    """
    if status not in LIST_STATUSES:
        raise AlertError(f"unknown alert status {status!r}; expected one of {', '.join(LIST_STATUSES)}")
    statement = select(Alert)
    if status != "all":
        statement = statement.where(Alert.status == status)
    if status == "active":
        statement = statement.where(Alert.resolved.is_(False))
    with session_scope(engine, write=False) as session:
        records = [alert_record(alert) for alert in session.scalars(statement)]
    return sorted(records, key=lambda r: (r["kind"] != "regression", -_change_size(r["ratio"]), r["id"]))


def _change_size(ratio: float | None) -> float:
    """How far a ratio is from 1 (log scale); a change from 0 (ratio null: no finite ratio) is the largest."""
    return math.inf if ratio is None or ratio <= 0 else abs(math.log(ratio))


def alert_record(alert: Alert) -> dict[str, Any]:
    """One alert as the JSON contract describes it (plus resolution and triage fields)."""
    record = {name: getattr(alert, name) for name in (*CONTRACT_FIELDS, *EXTRA_FIELDS)}
    record["params"] = json.loads(alert.params) if alert.params else {}
    record["cause"] = alert.cause or {}
    for name in ("detected_at", "resolved_at", "triaged_at"):
        record[name] = record[name].isoformat() if record[name] is not None else None
    return record


def set_alert_status(
    target: Engine | Session, alert_id: int, status: str, by: str, note: str = ""
) -> dict[str, Any]:
    """Triage one alert: acknowledge, dismiss or reopen (``active``), recording who, why and when."""
    if status not in TRIAGE_STATUSES:
        raise AlertError(f"cannot set alert status {status!r}; expected one of {', '.join(TRIAGE_STATUSES)}")
    if not by.strip():
        raise AlertError("triage needs the name of who decides")
    if isinstance(target, Session):
        return _set_status(target, alert_id, status, by, note)
    with session_scope(target) as session:
        return _set_status(session, alert_id, status, by, note)


def _set_status(session: Session, alert_id: int, status: str, by: str, note: str) -> dict[str, Any]:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertError(f"no alert with id {alert_id}")
    alert.status, alert.triaged_by, alert.triage_note, alert.triaged_at = status, by.strip(), note, utcnow()
    session.flush()
    return alert_record(alert)


def acknowledge(target: Engine | Session, alert_id: int, by: str, note: str = "") -> dict[str, Any]:
    """Mark an alert as seen and being handled."""
    return set_alert_status(target, alert_id, "acknowledged", by, note)


def dismiss(target: Engine | Session, alert_id: int, by: str, note: str = "") -> dict[str, Any]:
    """Mark an alert as not worth acting on (noise, expected change)."""
    return set_alert_status(target, alert_id, "dismissed", by, note)


def format_alerts(alerts: list[dict[str, Any]], fmt: str) -> str:
    """Alerts as ``json`` (the DESIGN.md contract), a ``markdown`` table or aligned ``text``."""
    if fmt == "json":
        return json.dumps(alerts, indent=2)
    if fmt not in FORMATS:
        raise AlertError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not alerts:
        return "No alerts."
    header = [
        "id",
        "kind",
        "ratio",
        "benchmark",
        "params",
        "machine",
        "before",
        "after",
        "commits",
        "cause",
        "status",
    ]
    rows = [_row(alert) for alert in alerts]
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [header, *rows]
    )


def _row(alert: dict[str, Any]) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in alert["params"].items())
    status = alert["status"] + (" (resolved)" if alert.get("resolved") else "")
    if alert.get("triaged_by"):
        status += f" by {alert['triaged_by']}" + (
            f": {alert['triage_note']}" if alert.get("triage_note") else ""
        )
    ratio = f"x{alert['ratio']:.3f}" if alert["ratio"] is not None else "-"
    commits = f"{(alert['commit_before'] or '')[:8]}..{alert['commit_after'][:8]}"
    return [
        str(alert["id"]),
        alert["kind"],
        ratio,
        alert["benchmark"],
        params,
        alert["machine"],
        _number(alert["value_before"]),
        _number(alert["value_after"]),
        commits,
        describe(alert.get("cause")),
        status,
    ]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
