"""Plotly figures of the dashboard: pure functions from a DataFrame to a Figure.

No Streamlit and no database here, so tests call them directly. Each function
documents the columns it reads; the frames come from :mod:`sqrtwatch.dashboard.data`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACCURACY_STATUSES = ("correctly rounded", "faithful", "worse", "no data")
ACCURACY_COLOURS = {
    "correctly rounded": "#2ca02c",
    "faithful": "#ffbf00",
    "worse": "#d62728",
    "no data": "#d9d9d9",
}
ALERT_MARKERS = {
    "regression": dict(symbol="triangle-down", color="#d62728", size=13),
    "improvement": dict(symbol="triangle-up", color="#2ca02c", size=13),
    "change point": dict(symbol="x", color="#7f7f7f", size=10),
}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_HEIGHT = 420


def _empty_figure(message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10))
    return figure


def _rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


X_TITLES = {"run_time": "run time", "commit": "commit (commit-date order)", "torch_version": "torch version"}


def make_trend_figure(
    series: pd.DataFrame,
    x: str = "run_time",
    y_title: str = "",
    markers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> go.Figure:
    """Value over ``x`` per ``label``, with a shaded ``low``-``high`` band, alert markers and events.

    ``series``: label, ``x``, value, low, high, commit_hash, torch_version, machine, n_samples;
    over ``commit`` and ``torch_version`` the rows come in the order the axis keeps.
    ``markers``: ``x``, value, kind (regression / improvement / change point), text.
    ``events``: ``x``, text: context changes (a torch upgrade, another CPU), drawn as
    dotted vertical lines. The y axis starts at zero, so noise does not look like a cliff.
    """
    if series.empty:
        return _empty_figure("No values for this selection")
    figure = go.Figure()
    categorical = x != "run_time"
    for index, (label, group) in enumerate(series.groupby("label", sort=True)):
        if not categorical:
            group = group.sort_values(x)
        colour = _PALETTE[index % len(_PALETTE)]
        band = group.dropna(subset=["low", "high"])
        if not band.empty:
            figure.add_trace(
                go.Scatter(
                    x=list(band[x]) + list(band[x])[::-1],
                    y=list(band["high"]) + list(band["low"])[::-1],
                    mode="lines",
                    fill="toself",
                    fillcolor=_rgba(colour, 0.18),
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=label,
                    name=f"{label} band",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=group[x],
                y=group["value"],
                mode="lines+markers",
                name=label,
                legendgroup=label,
                line=dict(color=colour),
                customdata=group[["commit_hash", "torch_version", "machine", "n_samples"]]
                .astype(str)
                .to_numpy(),
                hovertemplate=(
                    "<b>%{y:.4g}</b><br>commit %{customdata[0]}<br>torch %{customdata[1]}"
                    "<br>machine %{customdata[2]}<br>samples %{customdata[3]}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    if markers is not None and not markers.empty:
        for kind, group in markers.groupby("kind", sort=True):
            figure.add_trace(
                go.Scatter(
                    x=group[x],
                    y=group["value"],
                    mode="markers",
                    name=kind,
                    marker=ALERT_MARKERS.get(kind, ALERT_MARKERS["change point"]),
                    text=group["text"],
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    if events is not None and not events.empty:
        _add_events(figure, events, x)
    if categorical:
        figure.update_xaxes(
            type="category", categoryorder="array", categoryarray=list(dict.fromkeys(series[x]))
        )
    elif series[x].nunique() == 1:
        # One run: Plotly would zoom the date axis to milliseconds around it.
        moment = pd.Timestamp(series[x].iloc[0])
        figure.update_xaxes(range=[moment - pd.Timedelta(days=1), moment + pd.Timedelta(days=1)])
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(
        height=_HEIGHT,
        yaxis_title=y_title,
        xaxis_title=X_TITLES.get(x, x.replace("_", " ")),
        legend=dict(orientation="h", y=-0.2),
        margin=dict(l=10, r=10, t=30, b=10),
        hovermode="closest",
    )
    return figure


def _add_events(figure: go.Figure, events: pd.DataFrame, x: str) -> None:
    """Dotted vertical lines at context changes, their text on hover and along the top."""
    for event in events.itertuples():
        position = getattr(event, x)
        figure.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=position,
            x1=position,
            y0=0,
            y1=1,
            line=dict(color="#8c564b", dash="dot", width=1),
        )
        figure.add_annotation(
            x=position,
            xref="x",
            y=1,
            yref="paper",
            text=event.text,
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            font=dict(size=10, color="#8c564b"),
        )


def make_small_multiples_figure(frame: pd.DataFrame) -> go.Figure:
    """One panel per (metric, device), one line per dtype: the key series at a glance.

    ``frame``: metric, device, dtype, commit_date, value.
    """
    if frame.empty:
        return _empty_figure("No throughput results yet")
    metrics = sorted(frame["metric"].unique())
    devices = sorted(frame["device"].unique())
    figure = make_subplots(
        rows=len(metrics),
        cols=len(devices),
        shared_xaxes=True,
        subplot_titles=[f"{metric} · {device}" for metric in metrics for device in devices],
        vertical_spacing=0.12,
        horizontal_spacing=0.06,
    )
    dtypes = sorted(frame["dtype"].unique())
    colours = {dtype: _PALETTE[i % len(_PALETTE)] for i, dtype in enumerate(dtypes)}
    for row, metric in enumerate(metrics, start=1):
        for col, device in enumerate(devices, start=1):
            panel = frame[(frame["metric"] == metric) & (frame["device"] == device)]
            for dtype, group in panel.groupby("dtype", sort=True):
                group = group.sort_values("commit_date")
                figure.add_trace(
                    go.Scatter(
                        x=group["commit_date"],
                        y=group["value"],
                        mode="lines+markers",
                        name=dtype,
                        legendgroup=dtype,
                        showlegend=row == 1 and col == 1,
                        line=dict(color=colours[dtype]),
                        hovertemplate=f"{dtype}: %{{y:.4g}}<extra>{metric}</extra>",
                    ),
                    row=row,
                    col=col,
                )
    figure.update_layout(
        height=max(260, 230 * len(metrics)), margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h")
    )
    return figure


def make_accuracy_grid_figure(frame: pd.DataFrame) -> go.Figure:
    """Coloured grid of the accuracy status per dtype (rows) and device (columns).

    ``frame``: dtype, device, status (one of ACCURACY_STATUSES), detail (hover text).
    """
    if frame.empty:
        return _empty_figure("No accuracy results yet")
    dtypes = sorted(frame["dtype"].unique())
    devices = sorted(frame["device"].unique())
    cells = frame.set_index(["dtype", "device"])
    codes, texts, hovers = [], [], []
    for dtype in dtypes:
        code_row, text_row, hover_row = [], [], []
        for device in devices:
            status = cells["status"].get((dtype, device), "no data")
            detail = cells["detail"].get((dtype, device), "")
            code_row.append(ACCURACY_STATUSES.index(status))
            text_row.append(status)
            hover_row.append(f"{dtype} on {device}: {status}<br>{detail}")
        codes.append(code_row)
        texts.append(text_row)
        hovers.append(hover_row)
    # A stepwise colourscale turns the status codes into discrete colours.
    steps = len(ACCURACY_STATUSES)
    colourscale = []
    for code, status in enumerate(ACCURACY_STATUSES):
        colourscale += [
            [code / steps, ACCURACY_COLOURS[status]],
            [(code + 1) / steps, ACCURACY_COLOURS[status]],
        ]
    figure = go.Figure(
        go.Heatmap(
            z=codes,
            x=devices,
            y=dtypes,
            text=texts,
            texttemplate="%{text}",
            customdata=hovers,
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=colourscale,
            zmin=0,
            zmax=steps,
            showscale=False,
            xgap=3,
            ygap=3,
        )
    )
    figure.update_layout(height=80 + 45 * len(dtypes), margin=dict(l=10, r=10, t=10, b=10))
    figure.update_yaxes(autorange="reversed")
    return figure


def make_accuracy_heatmap_figure(frame: pd.DataFrame, metric: str) -> go.Figure:
    """Heatmap of ``metric`` (mismatches or max ulp) by (impl, dtype, device) and torch version.

    ``frame``: impl, dtype, device, torch_version, and the ``metric`` column.
    """
    if frame.empty:
        return _empty_figure("No accuracy results for this selection")
    frame = frame.assign(row=frame["impl"] + " · " + frame["dtype"] + " · " + frame["device"])
    table = frame.pivot_table(index="row", columns="torch_version", values=metric, aggfunc="max")
    values = table.to_numpy(dtype=float)
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=[str(column) for column in table.columns],
            y=list(table.index),
            text=[[("" if math.isnan(v) else f"{v:.4g}") for v in row] for row in values],
            texttemplate="%{text}",
            colorscale="Reds",
            hovertemplate="%{y}<br>torch %{x}<br>" + metric + " %{z:.4g}<extra></extra>",
            colorbar=dict(title=metric),
            xgap=2,
            ygap=2,
        )
    )
    figure.update_xaxes(type="category", title="torch version")
    figure.update_layout(height=120 + 30 * len(table.index), margin=dict(l=10, r=10, t=10, b=10))
    return figure


REGION_COLOURS = {"underflow": "#7f7f7f", "subnormal": "#ffbf00", "overflow": "#d62728"}


def make_precision_figure(frame: pd.DataFrame) -> go.Figure:
    """Per dtype: relative error of sqrt over the input magnitude (binade exponent ``e``,
    ``2**e <= x < 2**(e+1)``, so a log axis), underflow/subnormal/overflow shaded, and
    mismatches per binade as bars on a second axis.

    ``frame``: dtype, device, exponent, region, mismatches, input_rel_error,
    sqrt_rel_error, total_rel_error (:func:`frames.binade_picture`).
    """
    if frame.empty:
        return _empty_figure("No by-binade accuracy results stored yet")
    cells = list(frame.groupby(["dtype", "device"], sort=True))
    figure = make_subplots(
        rows=len(cells),
        cols=1,
        specs=[[{"secondary_y": True}]] * len(cells),
        subplot_titles=[f"{dtype} · {device}" for (dtype, device), _ in cells],
        vertical_spacing=0.12 / max(1, len(cells) - 1) if len(cells) > 1 else 0.1,
    )
    for row, (_, cell) in enumerate(cells, start=1):
        cell = cell.sort_values("exponent")
        first = row == 1
        for column, name, colour in (
            ("total_rel_error", "relative error of sqrt(x rounded to the dtype)", "#1f77b4"),
            ("sqrt_rel_error", "relative error of sqrt itself", "#2ca02c"),
        ):
            figure.add_trace(
                go.Scatter(
                    x=cell["exponent"],
                    y=cell[column].astype(float),
                    name=name,
                    legendgroup=column,
                    showlegend=first,
                    mode="lines+markers",
                    marker=dict(size=4, color=colour),
                    line=dict(color=colour),
                    hovertemplate="2^%{x}: %{y:.3g}<extra>" + name + "</extra>",
                ),
                row=row,
                col=1,
                secondary_y=False,
            )
        figure.add_trace(
            go.Bar(
                x=cell["exponent"],
                y=cell["mismatches"],
                name="mismatches per binade",
                legendgroup="mismatches",
                showlegend=first,
                marker_color="#d62728",
                opacity=0.6,
                hovertemplate="2^%{x}: %{y} mismatches<extra></extra>",
            ),
            row=row,
            col=1,
            secondary_y=True,
        )
        # After the traces: plotly skips shapes on a subplot that has none yet.
        for region, colour in REGION_COLOURS.items():
            exponents = cell.loc[cell["region"] == region, "exponent"]
            if not exponents.empty:
                figure.add_vrect(
                    x0=exponents.min() - 0.5,
                    x1=exponents.max() + 0.5,
                    fillcolor=colour,
                    opacity=0.15,
                    line_width=0,
                    annotation_text=region,
                    annotation_position="top left",
                    row=row,
                    col=1,
                )
        figure.update_yaxes(type="log", title_text="relative error", row=row, col=1, secondary_y=False)
        figure.update_yaxes(title_text="mismatches", row=row, col=1, secondary_y=True)
        figure.update_xaxes(title_text="input magnitude: binade 2^e", row=row, col=1)
    figure.update_layout(
        height=max(_HEIGHT, 330 * len(cells)),
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h"),
    )
    return figure


def make_ratio_figure(frame: pd.DataFrame) -> go.Figure:
    """Bars of head/base ratio per compared benchmark, on a log axis centred on 1.

    ``frame``: name, ratio, verdict (regression / improvement / unchanged / ...).
    """
    frame = frame[np.isfinite(frame["ratio"].astype(float)) & (frame["ratio"] > 0)]
    if frame.empty:
        return _empty_figure("Nothing to compare")
    colours = {
        "regression": "#d62728",
        "regressed": "#d62728",
        "improvement": "#2ca02c",
        "improved": "#2ca02c",
    }
    frame = frame.sort_values("ratio")
    figure = go.Figure(
        go.Bar(
            x=frame["ratio"],
            y=frame["name"],
            orientation="h",
            marker_color=[colours.get(verdict, "#7f7f7f") for verdict in frame["verdict"]],
            customdata=frame["verdict"],
            hovertemplate="%{y}<br>ratio %{x:.3f} (%{customdata})<extra></extra>",
        )
    )
    figure.add_vline(x=1, line_dash="dash", line_color="#444")
    figure.update_xaxes(type="log", title="head / base (log scale)")
    figure.update_layout(height=min(1400, 120 + 22 * len(frame)), margin=dict(l=10, r=10, t=10, b=10))
    return figure


def make_scaling_figure(frame: pd.DataFrame, y_title: str, roofline: pd.DataFrame | None = None) -> go.Figure:
    """Log-log value vs size, one line per ``label``, with the copy roofline dashed.

    ``frame``: label, size, value. ``roofline``: label, size, value (same-run copy).
    """
    if frame.empty:
        return _empty_figure("No size sweep for this selection")
    figure = go.Figure()
    labels = sorted(frame["label"].unique())
    colours = {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(labels)}
    for label in labels:
        group = frame[frame["label"] == label].sort_values("size")
        figure.add_trace(
            go.Scatter(
                x=group["size"],
                y=group["value"],
                mode="lines+markers",
                name=label,
                line=dict(color=colours[label]),
                hovertemplate="size %{x:,}<br>%{y:.4g}<extra>%{fullData.name}</extra>",
            )
        )
    if roofline is not None and not roofline.empty:
        for label, group in roofline.groupby("label", sort=True):
            group = group.sort_values("size")
            figure.add_trace(
                go.Scatter(
                    x=group["size"],
                    y=group["value"],
                    mode="lines",
                    name=f"copy roofline · {label}",
                    line=dict(color=colours.get(label, "#444"), dash="dash"),
                    hovertemplate="size %{x:,}<br>copy %{y:.4g}<extra>%{fullData.name}</extra>",
                )
            )
    figure.update_xaxes(type="log", title="elements")
    figure.update_yaxes(type="log", title=y_title)
    figure.update_layout(
        height=_HEIGHT, legend=dict(orientation="h", y=-0.2), margin=dict(l=10, r=10, t=30, b=10)
    )
    return figure


def make_alternatives_figure(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars: speed of each alternative relative to torch.sqrt (> 1 is faster).

    ``frame``: label (dtype · size), alternative, speedup.
    """
    if frame.empty:
        return _empty_figure("No alternative implementations measured")
    figure = go.Figure()
    for index, (alternative, group) in enumerate(frame.groupby("alternative", sort=True)):
        figure.add_trace(
            go.Bar(
                x=group["label"],
                y=group["speedup"],
                name=alternative,
                marker_color=_PALETTE[index % len(_PALETTE)],
                hovertemplate="%{x}<br>%{y:.3f}x torch.sqrt<extra>%{fullData.name}</extra>",
            )
        )
    figure.add_hline(y=1, line_dash="dash", line_color="#444")
    figure.update_layout(
        barmode="group",
        height=_HEIGHT,
        yaxis_title="speed relative to torch.sqrt",
        legend=dict(orientation="h", y=-0.25),
        margin=dict(l=10, r=10, t=30, b=10),
    )
    return figure


def make_side_by_side_figure(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars: seconds per call of the library op and of the hand-written formula.

    ``frame``: op, dtype, size, machine, library, handwritten, ratio (see ``frames.side_by_side``).
    """
    if frame.empty:
        return _empty_figure("No op measured both ways yet")
    size = frame["size"].where(frame["size"] == "", " · " + frame["size"])
    labels = frame["op"] + " · " + frame["dtype"] + size + " · " + frame["machine"]
    figure = go.Figure()
    for index, impl in enumerate(("library", "handwritten")):
        figure.add_trace(
            go.Bar(
                x=labels,
                y=frame[impl],
                name=impl,
                marker_color=_PALETTE[index],
                customdata=frame["ratio"],
                hovertemplate="%{x}<br>%{y:.3g} s (hand-written / library: %{customdata:.2f})"
                f"<extra>{impl}</extra>",
            )
        )
    figure.update_layout(
        barmode="group",
        height=_HEIGHT,
        yaxis_title="seconds per call",
        yaxis_type="log",
        legend=dict(orientation="h", y=-0.3),
        margin=dict(l=10, r=10, t=30, b=10),
    )
    return figure


def make_model_trend_figure(frame: pd.DataFrame, x: str, y_title: str) -> go.Figure:
    """One line per label over ``x`` (torch version or commit date). ``frame``: label, ``x``, value."""
    if frame.empty:
        return _empty_figure("No results for this selection")
    figure = go.Figure()
    for index, (label, group) in enumerate(frame.groupby("label", sort=True)):
        figure.add_trace(
            go.Scatter(
                x=group[x].astype(str) if x == "torch_version" else group[x],
                y=group["value"],
                name=label,
                mode="lines+markers",
                line=dict(
                    color=_PALETTE[index % len(_PALETTE)], dash="dot" if "handwritten" in label else "solid"
                ),
            )
        )
    figure.update_layout(
        height=_HEIGHT,
        yaxis_title=y_title,
        xaxis_title="torch version" if x == "torch_version" else "commit date",
        legend=dict(orientation="h", y=-0.3),
        margin=dict(l=10, r=10, t=30, b=10),
    )
    if x == "torch_version":
        figure.update_xaxes(type="category")
    return figure


def make_workload_figure(frame: pd.DataFrame) -> go.Figure:
    """Horizontal bars: each sqrt-computing call group's share of the traced step's operator time.

    ``frame``: label, share, calls, ms (see ``frames.workload_breakdown``).
    """
    if frame.empty:
        return _empty_figure("The workload records no sqrt-computing call")
    ordered = frame.sort_values("share")
    figure = go.Figure(
        go.Bar(
            x=ordered["share"],
            y=ordered["label"],
            orientation="h",
            marker_color=_PALETTE[0],
            customdata=np.stack([ordered["calls"], ordered["ms"]], axis=-1),
            hovertemplate="%{y}<br>%{x:.2%} of operator time<br>%{customdata[0]} calls, "
            "%{customdata[1]:.3f} ms<extra></extra>",
        )
    )
    figure.update_layout(
        height=max(240, 60 + 28 * len(frame)),
        xaxis_title="share of the step's operator time",
        xaxis_tickformat=".1%",
        margin=dict(l=10, r=10, t=30, b=10),
    )
    return figure
