"""Trends: one benchmark at one parameter combination over run time, commits or torch versions."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_multiselect, url_select, url_toggle
from sqrtwatch.render import markdown_text

src = data.source()
catalog = data.catalog(src)

st.title("Trends")
time_benchmarks = frames.benchmarks_of(data.suite(src), frames.KIND_TIME)
benchmark = url_select(
    "Benchmark",
    sorted(catalog["benchmark"].unique()),
    "bench",
    default=time_benchmarks[0] if time_benchmarks else None,
    help="Type to search",
)
rows = catalog[catalog["benchmark"] == benchmark]
if rows["ok_latest"].any():
    rows = rows[rows["ok_latest"]]  # offer the cells the newest runs measured (not failed or skipped)
unit = rows["unit"].iloc[0] or ""

# One picker per parameter; each offers only the values stored with the choices above it.
chosen = {}
for name in rows["param_dict"].iloc[0]:
    options = sorted({params[name] for params in rows["param_dict"]}, key=frames.sort_key)
    chosen[name] = url_select(name, options, f"p.{name}", format_func=frames.unquote, url_text=frames.unquote)
    rows = rows[[params[name] == chosen[name] for params in rows["param_dict"]]]
params = rows["params"].iloc[0]

series_values = data.values(src, (benchmark,), (params,))
machines = url_multiselect(
    "Machines", sorted(series_values["machine"].unique()), "machine", help="Empty: all machines"
)
x = url_select(
    "X axis",
    list(frames.X_AXES),
    "x",
    format_func=frames.X_AXES.__getitem__,
    help="Run time: every run; commit or torch version: the median of their runs, "
    "in commit-date or release order",
)
band = url_select(
    "Band",
    ["ci", "iqr"],
    "band",
    format_func={"ci": "99% confidence interval", "iqr": "interquartile range"}.__getitem__,
)

track_rows = frames.roofline_cells(catalog, chosen) if unit == "seconds" else catalog.iloc[:0]
normalize = url_toggle(
    "Normalize by same-run copy",
    "norm",
    disabled=track_rows.empty,
    help="Divide each time by the time a plain copy of the same bytes took in the same run "
    "(from the Bandwidth suite; needs a timing benchmark at a size and variant it measures)",
)

selected = series_values[series_values["machine"].isin(machines)] if machines else series_values
divide_by = None
if normalize and not track_rows.empty:
    kind_of = dict(zip(track_rows["benchmark"], track_rows["kind"]))
    tracks = data.values(src, tuple(sorted(kind_of)), tuple(sorted(set(track_rows["params"]))))
    tracks = frames.with_param_columns(tracks, frames.ROOFLINE_CELL[1:])
    divide_by = frames.copy_roofline(tracks, kind_of)
    unit = "x same-run copy time"

points = frames.trend_series(selected, x=x, band=band, divide_by=divide_by)
alerts = data.alerts(src, "all")
alerts = (
    alerts[(alerts["benchmark"] == benchmark) & (alerts["params"] == params)] if not alerts.empty else alerts
)
points, unit = frames.readable_time_unit(points, unit)
markers = frames.alert_markers(alerts, points, x)
runs = frames.series_runs(selected)
contexts = data.run_contexts(src, tuple(sorted(runs["run_id"])))
events = frames.context_events(runs.merge(contexts, on="run_id"), x)

st.caption(markdown_text(f"{benchmark} · {frames.params_text(params)} · unit: {unit}"))
st.plotly_chart(
    figures.make_trend_figure(points, x=x, y_title=unit, markers=markers, events=events), width="stretch"
)
if not events.empty:
    st.caption(
        markdown_text(
            "Dotted lines: the recorded context changed there (" + "; ".join(events["text"].head(3)) + ")."
        )
    )
if not alerts.empty:
    st.subheader("Alerts on this series")
    shown = alerts.assign(
        cause=alerts["cause"].map(frames.cause_text) if "cause" in alerts else "none recorded"
    )
    st.dataframe(
        shown[
            [
                "id",
                "kind",
                "status",
                "machine",
                "commit_before",
                "commit_after",
                "ratio",
                "cause",
                "triage_note",
            ]
        ],
        hide_index=True,
        width="stretch",
    )
with st.expander(f"{len(points)} points"):
    st.dataframe(points.drop(columns="run_ids"), hide_index=True, width="stretch")
