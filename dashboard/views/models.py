"""Models: the square roots models really compute (composite ops, hand-written formulas, a traced step)."""

import json
from pathlib import Path

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_select

EXAMPLE_WORKLOAD = (
    Path(__file__).resolve().parents[2] / "sqrtwatch" / "examples" / "transformer_step.workload.json"
)
METRICS = {
    "Composite.time_op": "seconds per call",
    "CompositeBandwidth.track_gbps": "GB/s",
    "CompositeBandwidth.track_roofline_fraction": "fraction of the copy roofline",
    "OptimizerStep.time_step": "seconds per optimizer step",
    "OptimizerBandwidth.track_gbps": "optimizer GB/s",
    "OptimizerBandwidth.track_roofline_fraction": "optimizer fraction of the copy roofline",
    "CompositeAccuracy.track_max_error": "max error (eps of the dtype)",
    "CompositeAccuracy.track_mean_error": "mean error (eps of the dtype)",
    "CompositeAccuracy.track_inf_results": "inf results the reference lacks",
    "CompositeAccuracy.track_nan_results": "NaN results the reference lacks",
    "CompositeAccuracy.track_zero_results": "zero results the reference lacks",
    "FormulaRange.track_overflow_log2": "overflow magnitude (log2)",
    "FormulaRange.track_underflow_log2": "underflow magnitude (log2)",
}

AXES = {"torch_version": "torch version", "commit_date": "run time (commit date)"}


@st.cache_data(show_spinner=False)
def example_workload(path: str) -> dict:
    """The shipped trace of ``sqrtwatch.examples.transformer_step:step`` (read once per server)."""
    return json.loads(Path(path).read_text())


@st.cache_data(show_spinner=False, max_entries=8)
def metric_values(src, benchmarks: tuple[str, ...], metrics: dict[str, str]):
    """The stored values of ``benchmarks`` as model_values frames them (a year of nightly runs:
    reframing them on every rerun took the page past a second)."""
    return frames.model_values(data.values(src, benchmarks), metrics)


src = data.source()
metrics = frames.model_benchmarks(data.suite(src))
st.title("Models")
st.caption(
    "Where models compute square roots: inside norms, standard deviations, distances and optimizer "
    "steps, and in hand-written formulas. See docs/models.md."
)

if not metrics:
    st.info(
        "No composite-op results stored yet: run `sqrtwatch run --quick` (or `--bench bench_composite`) "
        "and ingest the results."
    )
else:
    names = {short: full for full, short in metrics.items()}
    available = [m for m in METRICS if m in names]
    metric = url_select("Metric", available, "metric", format_func=METRICS.__getitem__)
    values = metric_values(src, (names[metric],), metrics)
    ops = sorted(values["op"].unique()) if not values.empty else []
    op = url_select("Op", ops, "op")
    x = url_select("Over", ["torch_version", "commit_date"], "x", format_func=AXES.__getitem__)
    selected = values[values["op"] == op] if op is not None else values

    if metric.startswith(("Composite.", "OptimizerStep.")):
        st.subheader("Library op beside the hand-written formula")
        baseline = "forloop" if metric.startswith("OptimizerStep.") else "library"
        st.caption(
            f"Newest run of each machine ({baseline} as the library form); hover for hand-written / "
            f"{baseline} time (> 1: the formula is slower)."
        )
        st.plotly_chart(
            figures.make_side_by_side_figure(frames.side_by_side(values, baseline)), width="stretch"
        )
    st.subheader(f"{METRICS[metric]}: {op or 'all ops'}")
    st.plotly_chart(
        figures.make_model_trend_figure(
            frames.model_trend(selected, x or "torch_version"), x, METRICS[metric]
        ),
        width="stretch",
    )
    if metric.startswith("CompositeAccuracy."):
        st.subheader("By dtype, worst over the input cases (newest run)")
        st.dataframe(frames.dtype_table(selected), hide_index=True, width="stretch")
    if "FormulaRange.track_overflow_log2" in names:
        st.subheader("Range: input magnitude (log2) where results overflow or underflow (newest run)")
        range_names = ("FormulaRange.track_overflow_log2", "FormulaRange.track_underflow_log2")
        ranges = metric_values(src, tuple(names[n] for n in range_names if n in names), metrics)
        st.dataframe(frames.range_table(ranges), hide_index=True, width="stretch")

st.subheader("Example workload: a transformer block's training step")
if EXAMPLE_WORKLOAD.is_file():
    workload = example_workload(str(EXAMPLE_WORKLOAD))
    breakdown = frames.workload_breakdown(workload)
    st.caption(
        f"`sqrtwatch trace {workload.get('target', '')} --warmup 1` on torch {workload.get('torch_version', '?')}: "
        f"{workload.get('total_calls', 0)} operator calls, {len(breakdown)} groups compute a square root, "
        f"{workload.get('sqrt_share', 0.0):.1%} of the operator time."
    )
    st.plotly_chart(figures.make_workload_figure(breakdown), width="stretch")
    st.dataframe(breakdown, hide_index=True, width="stretch")
else:
    st.info(f"No example workload at {EXAMPLE_WORKLOAD}.")
