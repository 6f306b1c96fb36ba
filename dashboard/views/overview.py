"""Overview: the key throughput series, the accuracy grid, active alerts and the latest runs."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_select
from sqrtwatch.render import markdown_text

src = data.source()
runs = data.runs(src)
suite = data.suite(src)
active = data.alerts(src, "active")

st.title("Overview")
machines = sorted(runs["machine"].unique())
newest_machine = runs.sort_values(["commit_date", "run_id"])["machine"].iloc[-1]
machine = url_select("Machine", machines, "machine", default=newest_machine, help="Machine of the key series")

columns = st.columns(4)
columns[0].metric("Runs", len(runs))
columns[1].metric("Machines", len(machines))
columns[2].metric("torch versions", runs["torch_version"].nunique())
columns[3].metric("Active alerts", len(active))

throughput, accuracy = st.columns([3, 2])
with throughput:
    st.subheader(markdown_text(f"Throughput on {machine}"))
    st.caption(
        "Largest size per dtype and device: effective GB/s and fraction of the same-run copy roofline."
    )
    kinds = frames.catalog_kinds(suite)
    kinds = kinds[kinds["kind"].isin([frames.KIND_GBPS, frames.KIND_ROOFLINE])]
    kind_of = dict(zip(kinds["benchmark"], kinds["kind"]))
    # The headline cells as this machine's newest runs measured them; then their whole history.
    newest = frames.newest_runs(runs[runs["machine"] == machine])
    key_cells = frames.headline(data.values(src, tuple(sorted(kind_of)), run_ids=newest))
    key_values = data.values(
        src, tuple(sorted(kind_of)), tuple(sorted(set(key_cells["params"]))), machine=machine
    )
    if not key_values.empty:
        key_values = frames.with_param_columns(key_values, ["device", "dtype"])
    st.plotly_chart(
        figures.make_small_multiples_figure(frames.key_series(key_values, kind_of)), width="stretch"
    )
with accuracy:
    st.subheader("Accuracy of torch.sqrt")
    st.caption("Latest report per machine; a cell shows the worst machine.")
    st.plotly_chart(
        figures.make_accuracy_grid_figure(frames.accuracy_grid(data.accuracy(src))), width="stretch"
    )

if not active.empty:
    st.subheader("Active alerts")
    shown = active[["id", "kind", "benchmark", "machine", "ratio", "commit_after", "detected_at"]].head(10)
    st.dataframe(shown.assign(commit_after=shown["commit_after"].str[:8]), hide_index=True, width="stretch")
    st.page_link(
        "views/alerts.py", label=f"Triage all {len(active)} active alerts", icon=":material/notifications:"
    )

st.subheader("Latest run per machine and torch version")
st.dataframe(frames.latest_runs(runs), hide_index=True, width="stretch")
