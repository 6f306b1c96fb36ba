"""Compare: two commits, torch versions, environments or machines side by side (``sqrtwatch compare``)."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_multiselect, url_select
from sqrtwatch.db.comparison.compare import MARKS
from sqrtwatch.render import markdown_text

KINDS = {"torch": "torch versions", "machine": "machines", "commit": "commits", "env": "environments"}
RATIO_BARS = 40  # more bars than this are unreadable
MARK_COLOURS = {"regressed": "#f8d0d0", "improved": "#d3f0d3", "failed": "#f3e0b5", "incomparable": "#e6e6e6"}

src = data.source()
runs = data.runs(src)

st.title("Compare")
kind = url_select("Compare", list(KINDS), "by", format_func=KINDS.__getitem__)
# Versions, commits and environments are compared on one machine: across machines the
# hardware, not torch, would explain the differences.
scope, candidates = "", runs
if kind != "machine":
    newest_machine = runs.sort_values(["commit_date", "run_id"])["machine"].iloc[-1]
    machine = url_select("On machine", sorted(runs["machine"].unique()), "machine", default=newest_machine)
    scope, candidates = f",machine:{machine}", runs[runs["machine"] == machine]
if kind == "torch":
    choices = frames.sort_versions(candidates["torch_version"])
elif kind == "commit":
    ordered = candidates.sort_values(["commit_date", "run_id"])
    choices = list(dict.fromkeys(ordered["commit_hash"].str[:12]))
else:
    choices = sorted(candidates["machine" if kind == "machine" else "env_name"].dropna().unique())
if len(choices) < 2:
    st.info(
        f"Only {len(choices)} of the {KINDS[kind]} have results here; pick another machine or comparison."
    )
    st.stop()
base = url_select("Base", choices, "base", default=choices[-2])
head = url_select("Head", choices, "head", default=choices[-1])
marks = url_multiselect("Marks", list(MARKS), "marks", help="Empty: every row")

base_selection, head_selection = f"{kind}:{base}{scope}", f"{kind}:{head}{scope}"
st.code(f"sqrtwatch compare {base_selection} {head_selection}", language="bash")
summary, rows, error = data.comparison(src, base_selection, head_selection)
if error:
    st.warning(error)
    st.stop()

st.markdown(f"**{markdown_text(summary)}**")
table = frames.comparison_table(rows, marks)
st.dataframe(
    table.style.map(lambda mark: f"background-color: {MARK_COLOURS.get(mark, '')}", subset=["mark"]),
    hide_index=True,
    width="stretch",
    column_config={
        "ratio": st.column_config.NumberColumn("ratio", format="%.3f", help="head / base"),
        "base": st.column_config.NumberColumn("base", format="%.4g"),
        "head": st.column_config.NumberColumn("head", format="%.4g"),
        "p_value": st.column_config.NumberColumn("p", format="%.2g"),
        "noise": st.column_config.NumberColumn(
            "noise",
            format="%.3f",
            help="sd of ln(head / base) from run-to-run noise (empty: too little history)",
        ),
        "threshold": st.column_config.NumberColumn(
            "threshold", format="%.3f", help="ratio a change had to reach: the factor or 4x the noise"
        ),
    },
)
st.subheader("Ratio head / base")
st.caption(f"The {RATIO_BARS} largest changes of the rows above.")
st.plotly_chart(figures.make_ratio_figure(frames.ratio_bars(table, RATIO_BARS)), width="stretch")
