"""Accuracy: mismatches and ulp error by dtype, device, torch version and implementation."""

import streamlit as st

from sqrtwatch.dashboard import data, figures, frames
from sqrtwatch.dashboard.state import url_multiselect, url_select

METRICS = {
    "mismatches": "mismatches (results not bit-identical to the correctly rounded root)",
    "max_ulp": "max ulp error",
    "mismatch_fraction": "fraction of inputs mismatched",
}

src = data.source()
accuracy = data.accuracy(src)

st.title("Accuracy")
if accuracy.empty:
    st.info(
        "No accuracy reports stored yet: run the accuracy suite (`sqrtwatch run`) and ingest its results."
    )
    st.stop()

metric = url_select("Metric", list(METRICS), "metric", format_func=METRICS.__getitem__)
impls = url_multiselect("Implementations", sorted(accuracy["impl"].unique()), "impl", help="Empty: all")
devices = url_multiselect("Devices", sorted(accuracy["device"].unique()), "device", help="Empty: all")
selected = accuracy
if impls:
    selected = selected[selected["impl"].isin(impls)]
if devices:
    selected = selected[selected["device"].isin(devices)]

st.caption(
    "0 mismatches is the target: IEEE 754 requires sqrt to be correctly rounded. "
    "Each cell is the worst over machines and runs of that torch version."
)
st.plotly_chart(
    figures.make_accuracy_heatmap_figure(frames.accuracy_by_version(selected), metric), width="stretch"
)

latest = frames.latest_accuracy(selected)
st.subheader("Precision by input magnitude")
picture_impl = url_select(
    "Implementation (precision picture)", sorted(selected["impl"].unique()), "picture_impl", "torch.sqrt"
)
st.caption(
    "Does the dtype hold my values? Per binade of input magnitude: the relative error of sqrt "
    "of a real input after rounding it to the dtype (inputs underflow to 0, lose precision as "
    "subnormals, or overflow in the shaded regions), sqrt's own error, and the sweep's mismatches."
)
st.plotly_chart(figures.make_precision_figure(frames.binade_picture(latest, picture_impl)), width="stretch")
st.subheader("Special values")
st.dataframe(frames.special_value_table(latest), hide_index=True, width="stretch")
st.subheader("Worst inputs")
st.dataframe(frames.worst_inputs_table(latest), hide_index=True, width="stretch")
st.subheader("Fingerprint changes between torch versions")
changes = frames.fingerprint_changes(selected)
if changes.empty:
    st.success("The numerics did not change between the torch versions stored.")
else:
    st.dataframe(changes, hide_index=True, width="stretch")
