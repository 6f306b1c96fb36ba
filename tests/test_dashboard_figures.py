"""The dashboard's pure parts: frame shaping and Plotly figure builders, called directly."""

from __future__ import annotations

import pandas as pd
import pytest

from sqrtwatch.dashboard import figures, frames


def series_frame(machine: str, values: list[float], versions: list[str]) -> pd.DataFrame:
    count = len(values)
    return pd.DataFrame(
        {
            "run_id": range(count),
            "machine": machine,
            "commit_hash": [f"{i:x}" * 40 for i in range(count)],
            "commit_date": pd.date_range("2025-01-01", periods=count, tz="UTC"),
            "torch_version": versions,
            "status": "ok",
            "value": values,
            "ci_99_a": [v * 0.9 for v in values],
            "ci_99_b": [v * 1.1 for v in values],
            "q_25": [v * 0.95 for v in values],
            "q_75": [v * 1.05 for v in values],
            "n_samples": 10,
        }
    )


@pytest.mark.parametrize(
    ("benchmark", "unit", "params", "kind"),
    [
        (
            "bench_throughput.Sqrt.time_sqrt",
            "seconds",
            {"device", "dtype", "size", "variant"},
            frames.KIND_TIME,
        ),
        (
            "bench_throughput.SqrtDomain.time_sqrt",
            "seconds",
            {"device", "dtype", "size", "domain"},
            frames.KIND_TIME,
        ),
        ("bench_throughput.Bandwidth.track_gbps", "GB/s", {"device", "dtype", "size"}, frames.KIND_GBPS),
        (
            "bench_throughput.Bandwidth.track_roofline_fraction",
            "fraction",
            {"dtype", "size"},
            frames.KIND_ROOFLINE,
        ),
        ("bench_throughput.Bandwidth.track_elements_per_s", "elements/s", {"dtype", "size"}, None),
        (
            "bench_alternatives.Alternatives.time_sqrt",
            "seconds",
            {"impl", "dtype", "size"},
            frames.KIND_ALTERNATIVE,
        ),
        (
            "bench_crossover.CpuVsGpu.time_roundtrip",
            "seconds",
            {"device", "dtype", "size"},
            frames.KIND_TRANSFER,
        ),
        ("bench_accuracy.Accuracy.track_max_ulp", "ulp", {"device", "dtype", "impl"}, frames.KIND_ACCURACY),
        ("bench_throughput.SmallTensor.track_us_per_call", "us", {"device", "dtype", "variant"}, None),
        ("bench_synthetic.Suite0.time_case_001", "seconds", {"dtype", "size"}, None),
        ("bench_throughput.Sqrt.time_sqrt", "seconds", {"param1"}, None),
    ],
)
def test_classify_recognises_the_suites(benchmark, unit, params, kind):
    assert frames.classify(benchmark, unit, params) == kind


def test_trend_band_choice_and_copy_normalization():
    values = series_frame("ci", [2.0, 4.0], ["2.12.0", "2.13.0"])
    ci = frames.trend_series(values, x="run_time", band="ci")
    iqr = frames.trend_series(values, x="run_time", band="iqr")
    assert list(ci["high"]) == pytest.approx([2.2, 4.4]) and list(iqr["high"]) == pytest.approx([2.1, 4.2])
    copies = pd.DataFrame({"run_id": [0, 1], "value": [1.0, 2.0]})
    normalized = frames.trend_series(values, x="run_time", band="ci", divide_by=copies)
    assert list(normalized["value"]) == [2.0, 2.0]  # the step was the machine, not sqrt


def test_copy_roofline_from_the_bandwidth_tracks():
    cell = {
        "run_id": 1,
        "device": "cpu",
        "dtype": "float32",
        "size": "1000000",
        "variant": "out",
        "status": "ok",
    }
    tracks = pd.DataFrame(
        [
            cell | {"benchmark": "B.track_gbps", "value": 8.0},  # sqrt moved 8 MB in 1 ms
            cell | {"benchmark": "B.track_roofline_fraction", "value": 0.5},  # the copy took half of that
        ]
    )
    kinds = {"B.track_gbps": frames.KIND_GBPS, "B.track_roofline_fraction": frames.KIND_ROOFLINE}
    copy = frames.copy_roofline(tracks, kinds).iloc[0]
    assert copy["copy_gbps"] == pytest.approx(16.0)
    assert copy["value"] == pytest.approx(0.5e-3)


def test_torch_versions_in_release_order_not_text_order():
    values = series_frame("ci", [1.0, 2.0, 3.0, 5.0], ["2.10.0", "2.9.1", "2.9.1", "2.11.0"])
    points = frames.trend_series(values, x="torch_version", band="ci")
    assert list(points["torch_version"]) == ["2.9.1", "2.10.0", "2.11.0"]
    assert list(points["value"]) == [2.5, 1.0, 5.0]  # median of the two 2.9.1 runs
    figure = figures.make_trend_figure(points, x="torch_version")
    assert list(figure.layout.xaxis.categoryarray) == ["2.9.1", "2.10.0", "2.11.0"]


def test_trend_figure_draws_band_line_and_alert_markers():
    points = frames.trend_series(series_frame("ci", [1.0, 1.0, 1.5], ["2.13.0"] * 3), x="run_time", band="ci")
    alerts = pd.DataFrame(
        [
            {
                "id": 7,
                "machine": "ci",
                "commit_after": "2" * 40,
                "kind": "regression",
                "status": "active",
                "ratio": 1.5,
            }
        ]
    )
    markers = frames.alert_markers(alerts, points, "run_time")
    figure = figures.make_trend_figure(points, markers=markers)
    names = [trace.name for trace in figure.data]
    assert names == ["ci band", "ci", "regression"]
    assert list(figure.data[2].y) == [1.5]
    assert "#7 regression (active)" in figure.data[2].text[0]


@pytest.mark.parametrize(
    ("mismatches", "max_ulp", "status"),
    [
        (0, 0.5, "correctly rounded"),
        (3, 0.9, "faithful"),
        (3, 1.0, "faithful"),
        (3, 2.5, "worse"),
        (None, None, "no data"),
    ],
)
def test_accuracy_status(mismatches, max_ulp, status):
    assert frames.accuracy_status(mismatches, max_ulp) == status


def test_accuracy_grid_shows_the_worst_machine_in_colour():
    reports = pd.DataFrame(
        {
            "run_id": [1, 2, 3],
            "commit_date": pd.to_datetime([1, 2, 3], unit="D", utc=True),
            "machine": ["a", "b", "a"],
            "torch_version": "2.13.0",
            "impl": "torch.sqrt",
            "dtype": ["float32", "float32", "float16"],
            "device": "cpu",
            "mismatches": [0, 5, 0],
            "max_ulp": [0.5, 3.0, 0.5],
        }
    )
    grid = frames.accuracy_grid(reports)
    assert dict(zip(grid["dtype"], grid["status"])) == {"float16": "correctly rounded", "float32": "worse"}
    heatmap = figures.make_accuracy_grid_figure(grid).data[0]
    assert list(heatmap.y) == ["float16", "float32"]
    assert [row[0] for row in heatmap.z] == [0, 2]  # codes of ACCURACY_STATUSES


def test_speedups_relative_to_torch_sqrt():
    times = pd.DataFrame(
        {
            "device": "cpu",
            "dtype": "float32",
            "size": ["1000", "1000", "1000"],
            "impl": ["torch.sqrt", "numpy", "mul_rsqrt"],
            "value": [1.0, 2.0, 0.5],
        }
    )
    result = frames.speedups(times)
    assert dict(zip(result["alternative"], result["speedup"])) == {"numpy": 0.5, "mul_rsqrt": 2.0}


def test_empty_frames_give_a_message_not_an_error():
    empty = pd.DataFrame(columns=["label", "commit_date", "value", "low", "high"])
    for figure in (
        figures.make_trend_figure(empty),
        figures.make_small_multiples_figure(
            pd.DataFrame(columns=["metric", "device", "dtype", "commit_date", "value"])
        ),
        figures.make_accuracy_grid_figure(pd.DataFrame(columns=["dtype", "device", "status", "detail"])),
        figures.make_ratio_figure(pd.DataFrame(columns=["name", "ratio", "verdict"])),
        figures.make_scaling_figure(pd.DataFrame(columns=["label", "size", "value"]), "GB/s"),
        figures.make_alternatives_figure(pd.DataFrame(columns=["label", "alternative", "speedup"])),
    ):
        assert not figure.data and figure.layout.annotations[0].text


def test_precision_figure_marks_regions_and_counts_mismatches_per_binade():
    rows = [
        {"exponent": e, "region": region, "mismatches": m, "total_rel_error": t, "sqrt_rel_error": s}
        for e, region, m, t, s in [
            (-27, "underflow", 0, 1.0, None),
            (-24, "subnormal", 0, 0.25, 2.0**-11),
            (0, "normal", 3, 2.0**-10, 2.0**-11),
            (16, "overflow", 0, None, None),
        ]
    ]
    frame = pd.DataFrame([r | {"dtype": "float16", "device": "cpu"} for r in rows])
    figure = figures.make_precision_figure(frame)
    bars = [t for t in figure.data if t.type == "bar"]
    assert len(bars) == 1 and list(bars[0].y) == [0, 0, 3, 0]
    shapes = {(s.x0, s.x1) for s in figure.layout.shapes}
    assert shapes == {(-27.5, -26.5), (-24.5, -23.5), (15.5, 16.5)}
    assert figure.layout.yaxis.type == "log"
    assert "No by-binade" in figures.make_precision_figure(frame.iloc[0:0]).layout.annotations[0].text


def test_binade_picture_reads_the_newest_stored_report_per_cell():
    def report(run_id, date, version, mismatches):
        detail = {"by_binade": [{"exponent": 0, "region": "normal", "mismatches": mismatches}]}
        return dict(
            run_id=run_id,
            commit_date=date,
            machine="m",
            impl="torch.sqrt",
            dtype="float32",
            device="cpu",
            torch_version=version,
            detail=detail,
        )

    latest = pd.DataFrame(
        [report(1, 1, "2.12.0", 5), report(2, 2, "2.13.0", 7), report(3, 3, "2.14.0", 0) | {"detail": {}}]
    )
    picture = frames.binade_picture(latest)
    assert picture[["torch_version", "exponent", "mismatches"]].values.tolist() == [["2.13.0", 0, 7]]
    assert frames.binade_picture(latest, "numpy").empty


def test_headline_is_the_largest_size_measured_not_a_skipped_one():
    cells = [("100000000", "skipped", None), ("10000000", "ok", 9.5), ("1000", "ok", 2.0)]
    values = pd.DataFrame(
        {
            "benchmark": "bench_throughput.Bandwidth.track_gbps",
            "params": [f'{{"size":"{size}"}}' for size, _, _ in cells],
            "param_dict": [{"device": "'cpu'", "dtype": "'float32'", "size": size} for size, _, _ in cells],
            "param_index": range(len(cells)),
            "status": [status for _, status, _ in cells],
            "value": [value for _, _, value in cells],
        }
    )
    (size,) = frames.headline(values)["size"]
    assert size == "10000000"  # the quick profile skips 1e8: a skipped cell has nothing to show
    assert frames.headline(values[values["status"] == "skipped"]).empty


def test_one_run_reads_in_microseconds_on_a_day_wide_axis():
    values = series_frame("ci", [12.5e-6], ["2.13.0"])
    points, unit = frames.readable_time_unit(frames.trend_series(values, x="run_time", band="ci"), "seconds")
    assert unit == "µs per call" and list(points["value"]) == pytest.approx([12.5])
    assert list(points["high"]) == pytest.approx([13.75])
    figure = figures.make_trend_figure(points, x="run_time", y_title=unit)
    low, high = (pd.Timestamp(end) for end in figure.layout.xaxis.range)
    assert high - low == pd.Timedelta(days=2)  # not milliseconds around the one point
    assert figure.layout.yaxis.rangemode == "tozero" and figure.layout.yaxis.title.text == unit
    assert frames.readable_time_unit(points, "GB/s")[1] == "GB/s"


def test_commit_axis_takes_the_median_of_the_runs_of_each_commit_in_commit_order():
    values = series_frame("ci", [3.0, 1.0, 2.0, 7.0], ["2.13.0", "2.13.0", "2.13.0", "2.14.1"])
    values["commit_hash"] = ["b" * 40, "a" * 40, "a" * 40, "b" * 40]
    values["commit_date"] = pd.to_datetime(["2025-02-01", "2025-01-01", "2025-01-01", "2025-02-01"], utc=True)
    points = frames.trend_series(values, x="commit", band="ci")
    assert list(points["commit"]) == ["aaaaaaaa", "bbbbbbbb"]
    assert list(points["value"]) == [1.5, 5.0] and list(points["runs"]) == [2, 2]
    assert list(points["torch_version"]) == ["2.13.0", "2.13.0, 2.14.1"]
    figure = figures.make_trend_figure(points, x="commit")
    assert list(figure.layout.xaxis.categoryarray) == ["aaaaaaaa", "bbbbbbbb"]


def test_runs_of_several_environments_of_a_machine_are_separate_lines():
    values = pd.concat([series_frame("ci", [1.0], ["2.13.0"]), series_frame("ci", [2.0], ["2.14.1"])])
    values["env_name"] = ["torch2.13.0", "torch2.14.1"]
    points = frames.trend_series(values, x="run_time", band="ci")
    assert sorted(points["label"]) == ["ci · torch2.13.0", "ci · torch2.14.1"]


def test_context_events_are_dotted_lines_with_their_text():
    points = frames.trend_series(
        series_frame("ci", [1.0, 2.0], ["2.13.0", "2.14.1"]), x="run_time", band="ci"
    )
    events = pd.DataFrame({"run_time": [points["run_time"].iloc[1]], "text": ["torch 2.13.0 → 2.14.1"]})
    figure = figures.make_trend_figure(points, x="run_time", events=events)
    (line,) = figure.layout.shapes
    assert line.line.dash == "dot" and pd.Timestamp(line.x0) == points["run_time"].iloc[1]
    assert figure.layout.annotations[0].text == "torch 2.13.0 → 2.14.1"


@pytest.mark.parametrize(
    ("cause", "text"),
    [
        ({"torch_version": ["2.13.0", "2.14.1"]}, "torch_version 2.13.0 -> 2.14.1"),
        (
            '{"threads": [2, 1], "env.OMP_NUM_THREADS": [null, "1"]}',
            "threads 2 -> 1; env.OMP_NUM_THREADS unset -> 1",
        ),
        ({}, "none recorded"),
        (None, "none recorded"),
    ],
)
def test_alert_cause_reads_as_one_line(cause, text):
    assert frames.cause_text(cause) == text


def context(threads: int = 2, torch_version: str = "2.13.0", flushed: bool = False) -> dict:
    return {
        "torch_version": torch_version,
        "threads": threads,
        "subnormals_flushed": {"torch": flushed, "numpy": flushed},
    }


def test_context_changes_between_runs_are_events_at_the_first_run_after():
    values = series_frame("ci", [1.0, 1.0, 1.6, 1.6, 1.7], ["2.13.0"] * 4 + ["2.14.1"])
    values["commit_hash"] = ["a" * 40] * 5  # one commit: only the context tells the runs apart
    contexts = [context(), context(), context(threads=1), context(threads=1), context(1, "2.14.1")]
    runs = frames.series_runs(values).assign(context=contexts)
    events = frames.context_events(runs, "run_time")
    assert list(events["run_time"]) == list(values["commit_date"][[2, 4]])
    assert list(events["text"]) == ["threads 2 -> 1", "torch_version 2.13.0 -> 2.14.1"]
    assert frames.context_events(runs, "torch_version").empty  # the axis is the upgrade


def test_alert_marker_sits_on_the_first_run_after_the_change():
    values = series_frame("ci", [1.0, 1.0, 1.6, 1.6], ["2.13.0"] * 4)
    values["commit_hash"] = ["a" * 40] * 4
    alert = {"id": 3, "machine": "ci", "commit_after": "a" * 40, "kind": "regression", "status": "active"}
    alerts = pd.DataFrame([alert | {"ratio": 1.6, "run_after_id": 2, "cause": {"threads": [2, 1]}}])
    for x in ("run_time", "commit"):
        points = frames.trend_series(values, x=x, band="ci")
        (marker,) = frames.alert_markers(alerts, points, x).itertuples()
        assert getattr(marker, x) == points[x].iloc[2 if x == "run_time" else 0]
        assert marker.text.endswith("threads 2 -> 1")
