"""Pure pandas shaping between the stored rows and the figures (no Streamlit, no database).

What a benchmark measures comes from db/taxonomy.py (its type, unit and parameters);
:func:`classify` only sorts timings by the page that shows them.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from ..db.detection.causes import COMMIT, cause, context_fields, describe
from ..db.taxonomy import Kind, kind_of
from ..vocabulary import DTYPE_BYTES

# What the suites measure, recognised from the stored benchmark catalog.
KIND_TIME = "time"  # seconds per torch.sqrt call, over a size sweep
KIND_GBPS = "GB/s"
KIND_ROOFLINE = "fraction of roofline"
KIND_ALTERNATIVE = "alternative"  # time of NumPy / torch.compile / rsqrt variants
KIND_TRANSFER = "with transfers"  # GPU time including host <-> device copies (the round trip)
KIND_ACCURACY = "accuracy"
UNQUOTE = re.compile(r"^'(.*)'$")


def unquote(value: str) -> str:
    """An asv parameter repr without its quotes: ``'float32'`` -> ``float32``."""
    match = UNQUOTE.match(str(value))
    return match.group(1) if match else str(value)


def classify(benchmark: str, unit: str | None, param_names: set[str], type_: str | None = None) -> str | None:
    """The dashboard view of a stored benchmark, or None if the dashboard has no use for it."""
    kind = kind_of(type_, unit, param_names)
    if kind is Kind.ACCURACY:
        return KIND_ACCURACY if "impl" in param_names else None
    if not {"size", "dtype"} <= param_names:
        return None
    if kind is Kind.ROOFLINE:
        return KIND_ROOFLINE
    if kind is Kind.RATE and (unit or "").lower() in ("gb/s", "gbps"):  # not elements/s
        return KIND_GBPS
    if kind is Kind.TIME and (unit or "").lower() == "seconds":
        # Which page shows a timing: the suites' own names (a presentation choice, not a kind).
        name = benchmark.lower()
        if "transfer" in name or "roundtrip" in name:
            return KIND_TRANSFER
        if re.search(r"numpy|compile|rsqrt|altern", name) or "impl" in param_names:
            return KIND_ALTERNATIVE
        if "sqrt" in name:
            return KIND_TIME
    return None


def with_param_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Add one unquoted column per parameter name (missing -> empty string)."""
    for name in names:
        frame[name] = [unquote(params.get(name, "")) for params in frame["param_dict"]]
    return frame


def catalog_kinds(catalog: pd.DataFrame) -> pd.DataFrame:
    """Rows of a suite or catalog frame (benchmark, unit, param_names) with a ``kind`` column.

    Rows the dashboard has no use for are dropped.
    """
    kinds = [
        classify(benchmark, unit, set(names))
        for benchmark, unit, names in zip(catalog["benchmark"], catalog["unit"], catalog["param_names"])
    ]
    return catalog.assign(kind=kinds).dropna(subset=["kind"])


def benchmarks_of(catalog: pd.DataFrame, kind: str) -> tuple[str, ...]:
    """Names of the stored benchmarks of one kind."""
    kinds = catalog_kinds(catalog)
    return tuple(sorted(kinds.loc[kinds["kind"] == kind, "benchmark"].unique()))


def newest_runs(runs: pd.DataFrame) -> tuple[int, ...]:
    """Ids of the newest run (by commit date) of each machine and environment."""
    ordered = runs.sort_values(["commit_date", "run_id"])
    return tuple(int(run_id) for run_id in ordered.groupby(["machine", "env_name"])["run_id"].last())


def headline(values: pd.DataFrame) -> pd.DataFrame:
    """Rows (benchmark, params, param_dict, param_index) of the headline cell per (benchmark, device, dtype).

    The headline cell is the largest size the given values measured (status ok), then asv's
    first parameter values. Large sizes are where throughput meets the memory roofline,
    which makes them the number worth watching; a cell the newest runs skipped (outside
    the quick profile) or failed has nothing to show, so it is never the headline.
    """
    measured = values[values["status"] == "ok"] if "status" in values else values
    if measured.empty:
        return measured.assign(device=[], dtype=[])
    frame = with_param_columns(measured.copy(), ["device", "dtype", "size"])
    frame["_size"] = pd.to_numeric(frame["size"], errors="coerce")
    frame = frame.sort_values(["_size", "param_index"], ascending=[False, True])
    return frame.drop_duplicates(["benchmark", "device", "dtype"]).drop(columns="_size")


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest run per machine and torch version (by commit date, then ingest)."""
    if runs.empty:
        return runs
    latest = (
        runs.sort_values(["commit_date", "run_id"])
        .groupby(["machine", "torch_version"], dropna=False)
        .tail(1)
    )
    table = latest[
        ["machine", "torch_version", "build_variant", "cpu_isa", "commit_hash", "commit_date", "ingested_at"]
    ]
    return table.assign(commit_hash=table["commit_hash"].str[:8]).sort_values(["machine", "torch_version"])


def key_series(values: pd.DataFrame, kind_of: dict[str, str]) -> pd.DataFrame:
    """Headline series (see :func:`headline`) as metric, device, dtype, commit_date, value."""
    columns = ["metric", "device", "dtype", "commit_date", "value"]
    if values.empty:
        return pd.DataFrame(columns=columns)
    frame = values[values["status"] == "ok"]
    frame = frame.assign(metric=frame["benchmark"].map(kind_of))
    return frame.groupby(columns[:-1], as_index=False)["value"].median()


def accuracy_status(mismatches: float, max_ulp: float) -> str:
    """correctly rounded (no mismatch), faithful (within 1 ulp) or worse."""
    if pd.isna(mismatches):
        return "no data"
    if mismatches == 0:
        return "correctly rounded"
    if pd.notna(max_ulp) and max_ulp <= 1:
        return "faithful"
    return "worse"


_STATUS_RANK = {"correctly rounded": 0, "faithful": 1, "worse": 2, "no data": -1}


def accuracy_grid(accuracy: pd.DataFrame, impl: str = "torch.sqrt") -> pd.DataFrame:
    """Status per dtype and device: the worst over machines of each machine's latest report."""
    columns = ["dtype", "device", "status", "detail"]
    frame = accuracy[accuracy["impl"] == impl] if not accuracy.empty else accuracy
    if frame.empty:
        return pd.DataFrame(columns=columns)
    latest = frame.sort_values(["commit_date", "run_id"]).groupby(["machine", "dtype", "device"]).tail(1)
    latest = latest.assign(
        status=[accuracy_status(m, u) for m, u in zip(latest["mismatches"], latest["max_ulp"])]
    )
    latest = latest.assign(rank=latest["status"].map(_STATUS_RANK))
    rows = []
    for (dtype, device), group in latest.groupby(["dtype", "device"]):
        worst = group.sort_values("rank").iloc[-1]
        detail = "<br>".join(
            f"{row.machine} (torch {row.torch_version}): {int(row.mismatches)} mismatches, max {row.max_ulp:.3g} ulp"
            for row in group.itertuples()
            if pd.notna(row.mismatches)
        )
        rows.append({"dtype": dtype, "device": device, "status": worst["status"], "detail": detail})
    return pd.DataFrame(rows, columns=columns)


# The x axes of a trend (DESIGN.md): when each run ran, the commit of this repository
# measured (commit date order), or the torch version (release order).
X_RUN_TIME, X_COMMIT, X_TORCH = "run_time", "commit", "torch_version"
X_AXES = {X_RUN_TIME: "run time", X_COMMIT: "commit", X_TORCH: "torch version"}
TREND_COLUMNS = [
    "label",
    "run_time",
    "commit",
    "commit_date",
    "torch_version",
    "value",
    "low",
    "high",
    "commit_hash",
    "machine",
    "n_samples",
    "runs",
    "run_ids",
]


def series_labels(frame: pd.DataFrame) -> pd.Series:
    """The machine, plus the environment and the hardware where a machine has several.

    A torch matrix runs several environments on one machine, and a hosted-runner pool is
    several hardware under one name: each is a series of its own (DESIGN.md).
    """
    labels = frame["machine"].astype(str)
    if frame.empty:
        return labels
    for column in ("env_name", "hardware"):
        if column in frame:
            several = frame.groupby("machine")[column].transform("nunique") > 1
            labels = labels.where(~several, labels + " · " + frame[column].astype(str))
    return labels


def trend_series(
    values: pd.DataFrame, x: str, band: str, divide_by: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Points of a trend chart (TREND_COLUMNS): label, the ``x`` column, value, low, high, hover fields.

    ``band`` is ``ci`` (asv's 99 % confidence interval) or ``iqr``. With ``divide_by``
    (same-run copy times: run_id, value; see :func:`copy_roofline`), values and band are
    divided by the copy of the same run, which normalizes away the machine's speed.
    Over run time every run is a point; over commits and torch versions the runs of one
    commit or version are summarized by their median, in commit-date or release order.
    """
    low_col, high_col = ("ci_99_a", "ci_99_b") if band == "ci" else ("q_25", "q_75")
    frame = values[values["status"] == "ok"].copy()
    frame["low"], frame["high"] = frame[low_col], frame[high_col]
    if divide_by is not None:
        copy = divide_by.drop_duplicates("run_id").set_index("run_id")["value"]
        factor = frame["run_id"].map(copy)
        frame = frame[factor.notna() & (factor > 0)]
        factor = factor[frame.index]
        for column in ("value", "low", "high"):
            frame[column] = frame[column] / factor
    frame["label"] = series_labels(frame)
    frame["commit_hash"] = frame["commit_hash"].str[:8]
    frame["commit"] = frame["commit_hash"]
    frame["run_time"] = run_times(frame)
    frame["runs"] = 1
    frame["run_ids"] = [(int(run_id),) for run_id in frame["run_id"]]
    if x in (X_COMMIT, X_TORCH):
        frame = frame.dropna(subset=[x])
        summaries = {
            "value": ("value", "median"),
            "low": ("low", "median"),
            "high": ("high", "median"),
            "commit_hash": ("commit_hash", lambda hashes: ", ".join(sorted(set(hashes)))),
            X_TORCH: (X_TORCH, lambda versions: ", ".join(sort_versions(versions))),
            X_COMMIT: (X_COMMIT, "first"),
            "machine": ("machine", "first"),
            "n_samples": ("n_samples", "sum"),
            "commit_date": ("commit_date", "max"),
            "run_time": ("run_time", "max"),
            "runs": ("runs", "sum"),
            "run_ids": ("run_ids", lambda ids: tuple(i for group in ids for i in group)),
        }
        del summaries[x]
        frame = frame.groupby(["label", x], as_index=False).agg(**summaries)
        if x == X_TORCH:
            frame = frame.iloc[_version_order(frame[X_TORCH])]
        else:
            frame = frame.sort_values(["commit_date", "run_time"], kind="stable")
    else:
        frame = frame.sort_values("run_time", kind="stable")
    return frame[TREND_COLUMNS].reset_index(drop=True)


def series_runs(values: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a trend's values: run_id, label, run_time, commit (for the events)."""
    frame = values[values["status"] == "ok"]
    return pd.DataFrame(
        {
            "run_id": frame["run_id"].astype(int),
            "label": series_labels(frame),
            "run_time": run_times(frame),
            "commit": frame["commit_hash"].str[:8],
        }
    ).drop_duplicates("run_id")


def run_times(frame: pd.DataFrame) -> pd.Series:
    """When each run measured (the runs' ``run_time``), else its commit date."""
    if "run_time" not in frame:
        return frame["commit_date"]
    return frame["run_time"].fillna(frame["commit_date"])


# Time units for the y axis: a value of 12e-6 s reads as 12 us, not 0.000012.
_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def readable_time_unit(points: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, str]:
    """``points`` in the time unit that puts their median between 1 and 1000, and that unit.

    Units other than seconds are returned unchanged.
    """
    if unit != "seconds" or points.empty:
        return points, unit
    typical = float(points["value"].abs().median())
    scale, name = next(((s, n) for s, n in _TIME_UNITS if typical >= s), _TIME_UNITS[-1])
    scaled = points.copy()
    for column in ("value", "low", "high"):
        scaled[column] = scaled[column] / scale
    return scaled, f"{name} per call"


def _version_key(version: str) -> tuple:
    parts = re.split(r"[.+]", str(version))
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


def _version_order(versions: pd.Series) -> list[int]:
    keys = [_version_key(version) for version in versions]
    return sorted(range(len(keys)), key=keys.__getitem__)


def sort_versions(versions) -> list[str]:
    """torch versions in release order (2.9 before 2.10)."""
    return sorted({str(version) for version in versions if pd.notna(version)}, key=_version_key)


def alert_markers(alerts: pd.DataFrame, series: pd.DataFrame, x: str) -> pd.DataFrame:
    """Alert markers placed on the series point holding the first run after the change.

    Alerts stored without that run (before issue 12) go to the first point of their
    ``commit_after`` on their machine.
    """
    columns = [x, "value", "kind", "text"]
    if alerts.empty or series.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for alert in alerts.itertuples():
        run_after = getattr(alert, "run_after_id", None)
        if run_after is not None and pd.notna(run_after):
            points = series[[int(run_after) in run_ids for run_ids in series["run_ids"]]]
        else:
            points = series[
                (series["machine"] == alert.machine)
                & series["commit_hash"].str.contains(alert.commit_after[:8], regex=False)
            ]
        if points.empty:
            continue
        point = points.iloc[0]
        ratio = f"{alert.ratio:.3f}x" if pd.notna(alert.ratio) else "n/a"
        cause = cause_text(getattr(alert, "cause", None))
        text = f"#{alert.id} {alert.kind} ({alert.status}) at {alert.commit_after[:8]}: {ratio}<br>{cause}"
        rows.append({x: point[x], "value": point["value"], "kind": alert.kind, "text": text})
    return pd.DataFrame(rows, columns=columns)


def context_events(runs: pd.DataFrame, x: str) -> pd.DataFrame:
    """Where the recorded context changed between consecutive runs of a line: ``x``, text.

    ``runs``: run_id, label, run_time, commit, context (the run's context as stored).
    A change of commit alone is no event (the commit axis shows those), and over torch
    versions there are none (the axis is the upgrade). Each event sits at the first
    run, or commit, with the new context: a torch upgrade, another CPU, fewer threads.
    """
    columns = [x, "text"]
    if runs.empty or x == X_TORCH:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, group in runs.sort_values(["run_time", "run_id"]).groupby("label", sort=True):
        previous = None
        for run in group.itertuples():
            fields = context_fields(run.context)
            if previous is not None:
                changed = {name: pair for name, pair in cause(previous, fields).items() if name != COMMIT}
                if changed:
                    rows.append({x: getattr(run, x), "text": describe(changed)})
            previous = fields
    return pd.DataFrame(rows, columns=columns).drop_duplicates()


def sort_key(value: str) -> tuple:
    """Order parameter values numerically when they are numbers, else as text."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, str(value))


def params_text(params: str) -> str:
    """``name=value`` pairs of a canonical params JSON text, for captions and legends."""
    pairs = json.loads(params)
    return ", ".join(f"{name}={unquote(value)}" for name, value in pairs.items()) or "no parameters"


def latest_accuracy(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The newest report per (machine, impl, dtype, device)."""
    if accuracy.empty:
        return accuracy
    ordered = accuracy.sort_values(["commit_date", "run_id"])
    return ordered.groupby(["machine", "impl", "dtype", "device"]).tail(1)


def accuracy_by_version(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per (impl, dtype, device, torch version): the worst mismatches and max ulp over machines and runs."""
    if accuracy.empty:
        return accuracy
    return accuracy.groupby(["impl", "dtype", "device", "torch_version"], as_index=False).agg(
        mismatches=("mismatches", "max"),
        max_ulp=("max_ulp", "max"),
        mismatch_fraction=("mismatch_fraction", "max"),
    )


def special_value_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Special values tested and failed per latest report, one row per failing case (or a summary row)."""
    rows = []
    for report in latest.itertuples():
        special = (report.detail or {}).get("special_values") or {}
        failed = special.get("failed")
        cases = failed if isinstance(failed, list) else []
        base = {
            "machine": report.machine,
            "torch_version": report.torch_version,
            "impl": report.impl,
            "dtype": report.dtype,
            "device": report.device,
            "tested": report.special_tested,
            "failed": report.special_failed,
        }
        if not cases:
            rows.append(base | {"case": ""})
        for case in cases:
            rows.append(base | {"case": json.dumps(case) if not isinstance(case, str) else case})
    return pd.DataFrame(
        rows, columns=["machine", "torch_version", "impl", "dtype", "device", "tested", "failed", "case"]
    )


BINADE_COLUMNS = [
    "dtype",
    "device",
    "machine",
    "torch_version",
    "exponent",
    "region",
    "inputs",
    "mismatches",
    "max_ulp",
    "input_rel_error",
    "sqrt_rel_error",
    "total_rel_error",
]


def binade_picture(latest: pd.DataFrame, impl: str = "torch.sqrt") -> pd.DataFrame:
    """The by-binade rows (``by_binade`` of the stored reports) of ``impl``: for each
    (dtype, device), those of the newest report that has them."""
    rows = []
    reports = latest[latest["impl"] == impl] if not latest.empty else latest
    if not reports.empty:
        reports = reports.sort_values(["commit_date", "run_id"])
    seen = set()
    for report in reversed(list(reports.itertuples())):
        binades = (report.detail or {}).get("by_binade")
        if not binades or (report.dtype, report.device) in seen:
            continue
        seen.add((report.dtype, report.device))
        for row in binades:
            rows.append(
                {"dtype": report.dtype, "device": report.device, "machine": report.machine}
                | {"torch_version": report.torch_version}
                | {key: row.get(key) for key in BINADE_COLUMNS[4:]}
            )
    return pd.DataFrame(rows, columns=BINADE_COLUMNS)


def worst_inputs_table(latest: pd.DataFrame) -> pd.DataFrame:
    """The worst input of each latest report, largest error first."""
    columns = [
        "machine",
        "torch_version",
        "impl",
        "dtype",
        "device",
        "worst_input_bits",
        "max_ulp",
        "mismatches",
        "inputs_tested",
    ]
    if latest.empty:
        return pd.DataFrame(columns=columns)
    return latest[columns].sort_values(["max_ulp", "mismatches"], ascending=False)


def _fingerprint(report) -> str:
    """The report's own fingerprint when the suite records one, else its key numbers."""
    detail = report.detail or {}
    if detail.get("fingerprint"):
        return str(detail["fingerprint"])
    return f"{report.mismatches} mismatches, max {report.max_ulp} ulp, worst {report.worst_input_bits}"


def fingerprint_changes(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Where the numerics of a cell changed between consecutive torch versions on one machine."""
    columns = ["machine", "impl", "dtype", "device", "from_version", "to_version", "before", "after"]
    rows = []
    if accuracy.empty:
        return pd.DataFrame(columns=columns)
    latest_per_version = (
        accuracy.sort_values(["commit_date", "run_id"])
        .groupby(["machine", "impl", "dtype", "device", "torch_version"])
        .tail(1)
    )
    for (machine, impl, dtype, device), group in latest_per_version.groupby(
        ["machine", "impl", "dtype", "device"]
    ):
        group = group.iloc[_version_order(group["torch_version"])]
        previous = None
        for report in group.itertuples():
            current = _fingerprint(report)
            if previous is not None and current != previous[1]:
                rows.append(
                    dict(
                        zip(
                            columns,
                            (
                                machine,
                                impl,
                                dtype,
                                device,
                                previous[0],
                                report.torch_version,
                                previous[1],
                                current,
                            ),
                        )
                    )
                )
            previous = (report.torch_version, current)
    return pd.DataFrame(rows, columns=columns)


# Bytes per element (DTYPE_BYTES) turn a copy time into the copy roofline's GB/s.


def newest_run(runs: pd.DataFrame, machine: str, torch_version: str) -> int | None:
    """Id of the newest run (by commit date) of ``machine`` with ``torch_version``."""
    mine = runs[(runs["machine"] == machine) & (runs["torch_version"] == torch_version)]
    return None if mine.empty else int(mine.sort_values(["commit_date", "run_id"])["run_id"].iloc[-1])


def as_gbps(frame: pd.DataFrame) -> pd.DataFrame:
    """Seconds per call as effective GB/s (one read and one write of every element)."""
    element_bytes = frame["dtype"].map(DTYPE_BYTES)
    sizes = pd.to_numeric(frame["size"], errors="coerce")
    return frame.assign(value=2 * element_bytes * sizes / frame["value"] / 1e9).dropna(subset=["value"])


def scaling(frame: pd.DataFrame, label_params: list[str]) -> pd.DataFrame:
    """label (from ``label_params``), size (number), value: points of a size sweep."""
    if frame.empty:
        return pd.DataFrame(columns=["label", "size", "value"])
    labels = frame[label_params].astype(str).agg(" · ".join, axis=1)
    return pd.DataFrame(
        {"label": labels, "size": pd.to_numeric(frame["size"], errors="coerce"), "value": frame["value"]}
    ).dropna()


def speedups(times: pd.DataFrame, reference: str = "torch.sqrt") -> pd.DataFrame:
    """Speed of each alternative implementation relative to ``reference`` at the same dtype and size."""
    columns = ["label", "alternative", "speedup"]
    if times.empty:
        return pd.DataFrame(columns=columns)
    keys = ["device", "dtype", "size"]
    base = times[times["impl"] == reference].set_index(keys)["value"]
    others = times[times["impl"] != reference]
    ratio = base.reindex(pd.MultiIndex.from_frame(others[keys])).to_numpy() / others["value"].to_numpy()
    labels = others["dtype"] + " · " + others["size"].astype(str) + " · " + others["device"]
    result = pd.DataFrame(
        {"label": labels.to_numpy(), "alternative": others["impl"].to_numpy(), "speedup": ratio}
    )
    return result.dropna()


ROOFLINE_CELL = ["run_id", "device", "dtype", "size", "variant"]


def roofline_cells(catalog: pd.DataFrame, chosen: dict[str, str]) -> pd.DataFrame:
    """Catalog rows of the GB/s and roofline-fraction tracks matching the ``chosen`` parameters."""
    kinds = catalog_kinds(catalog)
    rows = with_param_columns(kinds[kinds["kind"].isin([KIND_GBPS, KIND_ROOFLINE])].copy(), ROOFLINE_CELL[1:])
    for name in ROOFLINE_CELL[1:]:
        if name in chosen:
            rows = rows[rows[name] == unquote(chosen[name])]
    return rows


def copy_roofline(tracks: pd.DataFrame, kind_of: dict[str, str]) -> pd.DataFrame:
    """The same-run copy of each cell, from its GB/s and roofline-fraction tracks.

    The suite stores sqrt's GB/s and copy_seconds / sqrt_seconds of one sampling, so the
    copy moved its bytes at GB/s / fraction. Returns ROOFLINE_CELL columns plus
    ``copy_gbps`` and ``value`` (copy seconds for the same bytes: 2 x size x itemsize).
    """
    columns = [*ROOFLINE_CELL, "copy_gbps", "value"]
    tracks = tracks[tracks["status"] == "ok"] if not tracks.empty else tracks
    if tracks.empty:
        return pd.DataFrame(columns=columns)
    tracks = tracks.assign(kind=tracks["benchmark"].map(kind_of))
    wide = tracks.pivot_table(
        index=ROOFLINE_CELL, columns="kind", values="value", aggfunc="first"
    ).reset_index()
    if KIND_GBPS not in wide or KIND_ROOFLINE not in wide:
        return pd.DataFrame(columns=columns)
    wide["copy_gbps"] = wide[KIND_GBPS] / wide[KIND_ROOFLINE]
    nbytes = 2 * pd.to_numeric(wide["size"], errors="coerce") * wide["dtype"].map(DTYPE_BYTES)
    wide["value"] = nbytes / (wide["copy_gbps"] * 1e9)
    return wide[columns].dropna()


def crossover(times: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    """Seconds per call per device and dtype, plus the same with host <-> device transfers."""
    with_transfers = scaling(transfers, ["device", "dtype"])
    with_transfers["label"] = with_transfers["label"] + " + transfers"
    return pd.concat([scaling(times, ["device", "dtype"]), with_transfers], ignore_index=True)


def trend_link_params(benchmark: str, params: str, machine: str | None = None) -> dict[str, str]:
    """Query parameters that open the Trends page on one series (see views/trends.py)."""
    link = {"bench": benchmark} | {f"p.{name}": unquote(value) for name, value in json.loads(params).items()}
    if machine:
        link["machine"] = machine
    return link


def cause_text(cause) -> str:
    """An alert's cause (context field -> [before, after], a dict or JSON text) in one line.

    ``torch_version 2.13.0 -> 2.14.1; threads 2 -> 1``, as ``sqrtwatch alerts`` writes it,
    or ``none recorded`` when no recorded context field differs.
    """
    if isinstance(cause, str):
        cause = json.loads(cause) if cause.strip() else None
    return describe(cause if isinstance(cause, dict) else None)


def alerts_table(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts as shown in the Alerts page, with their cause and a link to each alert's trend chart."""
    columns = ["id", "kind", "status", "resolved", "benchmark", "parameters", "machine", "ratio", "cause",
               "commit_before", "commit_after", "detected_at", "triage_note", "trend"]  # fmt: skip
    if alerts.empty:
        return pd.DataFrame(columns=columns)
    table = alerts.assign(
        cause=alerts["cause"].map(cause_text) if "cause" in alerts else "none recorded",
        parameters=alerts["params"].map(params_text),
        commit_before=alerts["commit_before"].fillna("").str[:8],
        commit_after=alerts["commit_after"].str[:8],
        trend=[
            "trends?" + urlencode(trend_link_params(b, p, m))
            for b, p, m in zip(alerts["benchmark"], alerts["params"], alerts["machine"])
        ],
    )
    return table[columns]


def comparison_table(rows: pd.DataFrame, marks: list[str]) -> pd.DataFrame:
    """The rows of a comparison with the chosen marks, parameters as text, for the Compare page."""
    columns = [
        "mark",
        "ratio",
        "benchmark",
        "parameters",
        "machine",
        "base",
        "head",
        "unit",
        "p_value",
        "test",
        "noise",
        "threshold",
    ]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows[rows["mark"].isin(marks)] if marks else rows
    parameters = [", ".join(f"{k}={unquote(v)}" for k, v in params.items()) for params in rows["params"]]
    return rows.assign(parameters=parameters)[columns]


def ratio_bars(table: pd.DataFrame, limit: int) -> pd.DataFrame:
    """name, ratio, verdict of the ``limit`` rows with the largest finite change, for the ratio chart."""
    ratio = pd.to_numeric(table["ratio"], errors="coerce")
    table = table[np.isfinite(ratio) & (ratio > 0)]
    ratio = ratio[table.index]
    table = table.loc[np.log(ratio).abs().sort_values(ascending=False).index[:limit]]
    names = (
        table["benchmark"].str.rsplit(".", n=1).str[-1]
        + " · "
        + table["parameters"]
        + " · "
        + table["machine"]
    )
    return pd.DataFrame({"name": names, "ratio": table["ratio"].astype(float), "verdict": table["mark"]})


# ----- Models page: composite ops, hand-written formulas, traced workloads ----------------------

MODEL_SUITES = ("bench_composite.", "bench_composite_accuracy.")
MODEL_PARAMS = ["op", "impl", "device", "dtype", "size"]


def model_benchmarks(suite: pd.DataFrame) -> dict[str, str]:
    """Stored benchmarks of the model suites: full asv name -> ``Class.method``."""
    names = [name for name in suite["benchmark"] if str(name).startswith(MODEL_SUITES)]
    return {name: name.split(".", 1)[1] for name in names}


def model_values(values: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """ok values of the model suites with one column per parameter and a ``metric`` column."""
    frame = values[values["status"] == "ok"].copy()
    if frame.empty:
        return frame.assign(**{name: pd.Series(dtype=str) for name in [*MODEL_PARAMS, "metric"]})
    frame = with_param_columns(frame, MODEL_PARAMS)
    # Composite and accuracy cells name the formula as ``op[:handwritten]``; optimizers have ``impl``.
    split = frame["op"].str.partition(":")
    frame["op"] = split[0]
    frame["impl"] = split[2].where(split[2] != "", frame["impl"].where(frame["impl"] != "", "library"))
    frame["metric"] = frame["benchmark"].map(metrics)
    return frame


def _newest(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the newest run (by commit date, then run id) of each machine."""
    if frame.empty:
        return frame
    ordered = frame.sort_values(["commit_date", "run_id"])
    newest = ordered.groupby("machine")["run_id"].last()
    return frame[frame["run_id"].isin(newest)]


def side_by_side(frame: pd.DataFrame, baseline: str = "library") -> pd.DataFrame:
    """Library op beside hand-written formula, newest run per machine: op, machine, dtype, device,
    size, library, handwritten, ratio (hand-written / library; > 1: the formula is slower).

    ``baseline`` is the ``impl`` that plays the library (``forloop`` for optimizer steps).
    """
    columns = ["op", "machine", "device", "dtype", "size", "library", "handwritten", "ratio"]
    newest = _newest(frame)
    if newest.empty:
        return pd.DataFrame(columns=columns)
    table = newest.pivot_table(
        index=["op", "machine", "device", "dtype", "size"], columns="impl", values="value", aggfunc="median"
    ).reset_index()
    table = table.rename(columns={baseline: "library"})
    for impl in ("library", "handwritten"):
        if impl not in table:
            table[impl] = np.nan
    table = table.dropna(subset=["library", "handwritten"])
    table["ratio"] = table["handwritten"] / table["library"]
    return table[columns].reset_index(drop=True)


def model_trend(frame: pd.DataFrame, x: str) -> pd.DataFrame:
    """Median value per label (impl · dtype · size where there is one · device) and ``x`` (``torch_version`` or
    ``commit_date``), torch versions in release order."""
    columns = ["label", x, "value"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.dropna(subset=[x]).copy()
    size = frame["size"].where(frame["size"] == "", " · " + frame["size"])
    frame["label"] = frame["impl"] + " · " + frame["dtype"] + size + " · " + frame["device"]
    grouped = frame.groupby(["label", x], as_index=False)["value"].median()
    if x == "torch_version":
        grouped = grouped.iloc[_version_order(grouped["torch_version"])]
    else:
        grouped = grouped.sort_values(x)
    return grouped[columns].reset_index(drop=True)


def dtype_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The newest run's value per (op, impl, device) row and dtype column."""
    newest = _newest(frame)
    if newest.empty:
        return pd.DataFrame()
    table = newest.pivot_table(index=["op", "impl", "device"], columns="dtype", values="value", aggfunc="max")
    return table.reset_index()


def range_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Newest overflow and underflow log2 magnitudes per (op, dtype, device), library beside hand-written."""
    newest = _newest(frame)
    if newest.empty:
        return pd.DataFrame()
    newest = newest.assign(column=newest["impl"] + " " + newest["metric"].str.extract(r"track_(\w+)_log2")[0])
    table = newest.pivot_table(
        index=["op", "dtype", "device"], columns="column", values="value", aggfunc="min"
    )
    return table.reset_index()


def workload_breakdown(workload: dict) -> pd.DataFrame:
    """One row per sqrt-computing call group of a workload file: label, op, calls, ms, share."""
    rows = []
    for index, entry in enumerate(workload.get("ops", [])):
        tensors = list(_workload_tensors(entry.get("args", [])))
        first = tensors[0] if tensors else {"tensor": [], "dtype": "-", "device": "-"}
        shape = "x".join(map(str, first["tensor"])) or "scalar"
        op = re.sub(r"^aten\.|\.default$", "", str(entry.get("op", "")))
        rows.append(
            {
                "label": f"{index:02d} {op} {shape} {first['dtype']}",
                "op": op,
                "calls": int(entry.get("calls", 0)),
                "ms": float(entry.get("seconds", 0.0)) * 1e3,
                "share": float(entry.get("share", 0.0)),
            }
        )
    return pd.DataFrame(rows, columns=["label", "op", "calls", "ms", "share"])


def _workload_tensors(spec):
    if isinstance(spec, dict) and "tensor" in spec:
        yield spec
    elif isinstance(spec, list):
        for item in spec:
            yield from _workload_tensors(item)
