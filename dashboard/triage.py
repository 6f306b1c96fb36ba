"""Triage from the dashboard: who decided, and the write through sqrtwatch.db.detection.alerts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sqrtwatch.db.detection.alerts import set_alert_status

from . import data
from .frames import params_text

# Recorded as the decider when the server has no logged-in user (no st.login configured).
ANONYMOUS = "dashboard user"


def describe(alerts: pd.DataFrame, alert_id: int) -> str:
    """One line naming an alert in the triage picker."""
    alert = alerts[alerts["id"] == alert_id].iloc[0]
    ratio = f"{alert['ratio']:.3f}x" if pd.notna(alert["ratio"]) else "n/a"
    short_name = alert["benchmark"].rsplit(".", 1)[-1]
    return f"#{alert_id} {alert['kind']} {ratio} · {short_name} · {params_text(alert['params'])} · {alert['machine']}"


def decider() -> str:
    """The logged-in user's e-mail when the server uses st.login, else a generic name."""
    try:
        email = st.user.get("email")
        return email if isinstance(email, str) and email else ANONYMOUS
    except Exception:
        return ANONYMOUS


def set_status(src: data.Source, alert_id: int, status: str, note: str) -> None:
    """Persist a triage decision; the alerts marker in ``data.source()`` changes with it."""
    if data.read_only():
        raise PermissionError("the dashboard is read-only")
    set_alert_status(data.engine(src.url), alert_id, status, by=decider(), note=note)
