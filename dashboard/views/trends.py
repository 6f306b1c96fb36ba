"""Trends: one benchmark at one parameter combination over commits or torch versions."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_multiselect, url_select, url_toggle

src = data.source()
catalog = data.catalog(src)

st.title("Trends")
time_benchmarks = frames.benchmarks_of(catalog, frames.KIND_TIME)
benchmark = url_select(
    "Benchmark",
    sorted(catalog["benchmark"].unique()),
    "bench",
    default=time_benchmarks[0] if time_benchmarks else None,
    help="Type to search",
)
rows = catalog[catalog["benchmark"] == benchmark]
unit = rows["unit"].iloc[0] or ""

# One picker per parameter; each offers only the values stored with the choices above it.
chosen = {}
for name in rows["param_dict"].iloc[0]:
    options = sorted({params[name] for params in rows["param_dict"]}, key=frames.sort_key)
    chosen[name] = url_select(name, options, f"p.{name}", format_func=frames.unquote, url_text=frames.unquote)
    rows = rows[[params[name] == chosen[name] for params in rows["param_dict"]]]
params = rows["params"].iloc[0]

series_values = data.values(src, (benchmark,), (params,))
machines = url_multiselect("Machines", sorted(series_values["machine"].unique()), "machine", help="Empty: all machines")
x = url_select("X axis", ["commit_date", "torch_version"], "x", format_func=lambda v: v.replace("_", " "))
band = url_select("Band", ["ci", "iqr"], "band", format_func={"ci": "99% confidence interval", "iqr": "interquartile range"}.get)

copy_benchmarks = frames.benchmarks_of(catalog, frames.KIND_COPY_TIME)
can_normalize = unit == "seconds" and bool(copy_benchmarks) and "size" in chosen
normalize = can_normalize and url_toggle(
    "Normalize by same-run copy", "norm", help="Divide each time by the copy of the same bytes in the same run"
)

selected = series_values[series_values["machine"].isin(machines)] if machines else series_values
divide_by = None
if normalize:
    copy_rows = frames.with_param_columns(catalog[catalog["benchmark"].isin(copy_benchmarks)], ["device", "dtype", "size"])
    for name in ("device", "dtype", "size"):
        if name in chosen:
            copy_rows = copy_rows[copy_rows[name] == frames.unquote(chosen[name])]
    copies = data.values(src, copy_benchmarks, tuple(copy_rows["params"]))
    divide_by = copies[copies["status"] == "ok"]
    unit = "x copy time"

points = frames.trend_series(selected, x=x, band=band, divide_by=divide_by)
alerts = data.alerts(src, "all")
alerts = alerts[(alerts["benchmark"] == benchmark) & (alerts["params"] == params)] if not alerts.empty else alerts
markers = frames.alert_markers(alerts, points, x)

st.caption(f"`{benchmark}` · {frames.params_text(params)} · unit: {unit}")
st.plotly_chart(figures.make_trend_figure(points, x=x, y_title=unit, markers=markers), width="stretch")
if not alerts.empty:
    st.subheader("Alerts on this series")
    st.dataframe(
        alerts[["id", "kind", "status", "machine", "commit_before", "commit_after", "ratio", "triage_note"]],
        hide_index=True,
        width="stretch",
    )
with st.expander(f"{len(points)} points"):
    st.dataframe(points, hide_index=True, width="stretch")
