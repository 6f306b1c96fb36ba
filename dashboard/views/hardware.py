"""Hardware: how sqrt scales with size on each device, against the copy roofline and alternatives."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_multiselect, url_select
from sqrtwatch.render import markdown_text

src = data.source()
suite = data.suite(src)
runs = data.runs(src)

st.title("Hardware")
machine = url_select("Machine", sorted(runs["machine"].unique()), "machine")
versions = frames.sort_versions(runs.loc[runs["machine"] == machine, "torch_version"])
torch_version = url_select("torch version", versions, "torch", default=versions[-1] if versions else None)
metric = url_select("Metric", ["GB/s", "seconds"], "metric", help="Effective bandwidth or time per call")

param_columns = ["device", "dtype", "size", "variant", "impl"]
run_id = frames.newest_run(runs, machine, torch_version)
if run_id is None:
    st.info(
        f"No run on {markdown_text(machine)} records its torch version (runs without a sqrtwatch context file)."
    )
    st.stop()


def load(kind: str, run_id: int):
    """ok values of one kind from the newest run of the chosen machine and torch version."""
    values = data.values(src, frames.benchmarks_of(suite, kind), run_ids=(run_id,))
    return frames.with_param_columns(values[values["status"] == "ok"], param_columns)


times = load(frames.KIND_TIME, run_id)
times = times[times["variant"] != ""]  # the variant sweep (other classes sweep threads or domains)
tracks = frames.catalog_kinds(suite)
tracks = tracks[tracks["kind"].isin([frames.KIND_GBPS, frames.KIND_ROOFLINE])]
kind_of = dict(zip(tracks["benchmark"], tracks["kind"]))
copies = frames.copy_roofline(
    frames.with_param_columns(
        data.values(src, tuple(sorted(kind_of)), run_ids=(run_id,)), frames.ROOFLINE_CELL[1:]
    ),
    kind_of,
)
dtypes = url_multiselect(
    "dtypes", sorted(times["dtype"].unique()) if not times.empty else [], "dtype", help="Empty: all"
)
variants = sorted(times["variant"].unique()) if not times.empty else []
variant = url_select("Variant", variants, "variant", default="allocating")
if dtypes:
    times = times[times["dtype"].isin(dtypes)]
    copies = copies[copies["dtype"].isin(dtypes)]
if variant is not None:
    times = times[times["variant"] == variant]
    copies = copies[copies["variant"] == variant]
seconds = times
if metric == "GB/s":
    times, copies = frames.as_gbps(times), copies.assign(value=copies["copy_gbps"])

st.subheader(markdown_text(f"{metric} vs size on {machine} (torch {torch_version})"))
st.caption(
    "Dashed: a plain copy of the same bytes sampled in the same run (Bandwidth suite, large sizes), "
    "the memory roofline of that machine."
)
st.plotly_chart(
    figures.make_scaling_figure(
        frames.scaling(times, ["device", "dtype"]),
        metric,
        roofline=frames.scaling(copies, ["device", "dtype"]),
    ),
    width="stretch",
)

st.subheader("CPU vs GPU crossover")
transfers = load(frames.KIND_TRANSFER, run_id)
devices = set(times["device"]) if not times.empty else set()
if transfers.empty and len(devices) < 2:
    st.info(
        f"Only {', '.join(sorted(devices)) or 'no'} device results on {machine}: the crossover needs a GPU run "
        "(CUDA or MPS) of the same torch version."
    )
else:
    crossover = frames.crossover(seconds, transfers[transfers["dtype"].isin(dtypes)] if dtypes else transfers)
    st.plotly_chart(figures.make_scaling_figure(crossover, "seconds per call"), width="stretch")

st.subheader("Alternatives vs torch.sqrt")
alternatives = load(frames.KIND_ALTERNATIVE, run_id)
if dtypes and not alternatives.empty:
    alternatives = alternatives[alternatives["dtype"].isin(dtypes)]
st.plotly_chart(figures.make_alternatives_figure(frames.speedups(alternatives)), width="stretch")
