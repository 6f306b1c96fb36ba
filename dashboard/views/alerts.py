"""Alerts: filter, open the trend of, and triage (acknowledge or dismiss with a note) each alert."""

import streamlit as st

from sqrtwatch.dashboard import data, frames, triage
from sqrtwatch.dashboard.state import url_multiselect, url_select, url_text

STATUSES = ["active", "acknowledged", "dismissed", "all"]

src = data.source()
all_alerts = data.alerts(src, "all")

st.title("Alerts")
status = url_select("Status", STATUSES, "status", default="active")
kind = url_select("Kind", ["all", "regression", "improvement"], "kind")
machines = url_multiselect("Machines", sorted(all_alerts["machine"].unique()), "machine", help="Empty: all")
search = url_text("Benchmark contains", "q", placeholder="e.g. float32 or time_sqrt")

alerts = all_alerts
if status != "all":
    alerts = alerts[alerts["status"] == status]
if status == "active":
    alerts = alerts[~alerts["resolved"].astype(bool)]  # back at the old level: nothing to do
if kind != "all":
    alerts = alerts[alerts["kind"] == kind]
if machines:
    alerts = alerts[alerts["machine"].isin(machines)]
if search:
    text = alerts["benchmark"] + " " + alerts["params"]
    alerts = alerts[text.str.contains(search, case=False, regex=False)]

st.caption(f"{len(alerts)} of {len(all_alerts)} alerts. Ratio = value after / value before.")
if alerts.empty:
    st.info(
        "No alert matches these filters."
        if len(all_alerts)
        else "No alerts: run `sqrtwatch detect` after ingesting."
    )
    st.stop()

st.dataframe(
    frames.alerts_table(alerts),
    hide_index=True,
    width="stretch",
    column_config={
        "trend": st.column_config.LinkColumn("trend", display_text="open chart"),
        "ratio": st.column_config.NumberColumn("ratio", format="%.3f"),
    },
)

st.subheader("Triage")
alert_id = url_select(
    "Alert", list(alerts["id"]), "alert", where=st, format_func=lambda i: triage.describe(alerts, i)
)
alert = alerts[alerts["id"] == alert_id].iloc[0]
st.page_link(
    "views/trends.py",
    label="Open its trend chart",
    icon=":material/show_chart:",
    query_params=frames.trend_link_params(alert["benchmark"], alert["params"], alert["machine"]),
)
if alert["triage_note"]:
    # Plain text: a note is anyone's input, and markdown would fetch its images or show its links.
    st.text(f"Last triage: {alert['status']} by {alert['triaged_by'] or 'unknown'}: {alert['triage_note']}")

read_only = data.read_only()
if read_only:
    st.caption(
        "This dashboard is read-only: triage with `sqrtwatch` on a writable database, or serve it read-write."
    )
note = st.text_area("Note (why)", key=f"note-{alert_id}", disabled=read_only)
columns = st.columns(3)
actions = {"acknowledged": "Acknowledge", "dismissed": "Dismiss", "active": "Reopen"}
for column, (new_status, label) in zip(columns, actions.items()):
    if column.button(
        label, key=f"{new_status}-{alert_id}", disabled=read_only or alert["status"] == new_status
    ):
        triage.set_status(src, int(alert_id), new_status, note)
        st.toast(f"Alert #{alert_id} {new_status}.")
        st.rerun()
