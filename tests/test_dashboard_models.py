"""The Models page and its pure frames and figures, on real ingested results of the model suites."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sqrtwatch.dashboard import figures, frames
from sqrtwatch.dashboard.serve import DB_ENV_VAR, READ_ONLY_ENV_VAR
from tests import dashboard_seed as seed
from tests.test_dashboard_pages import chart_data, numbers, open_page

TIME = "bench_composite.Composite.time_op"
MAX_ERROR = "bench_composite_accuracy.CompositeAccuracy.track_max_error"
OVERFLOW = "bench_composite_accuracy.FormulaRange.track_overflow_log2"
UNDERFLOW = "bench_composite_accuracy.FormulaRange.track_underflow_log2"
COMPOSITE_NAMES = ["op", "device", "dtype", "size"]
ACCURACY_NAMES = RANGE_NAMES = ["op", "device", "dtype"]
RUNS = 3  # commits 0-2: torch 2.11.0, 2.11.0, 2.12.0


def quoted(values):
    return [f"'{v}'" for v in values]


def results(index: int) -> dict:
    """One run: hand-written formulas twice as slow, the fp16 hand-written norm overflowing."""
    ops = ["rms_norm", "rms_norm:handwritten", "vector_norm", "vector_norm:handwritten"]
    time_params = [quoted(ops), ["'cpu'"], ["'float32'"], ["'small'"]]
    times = [base * factor for base in (0.010, 0.004) for factor in (1.0, 2.0)]
    accuracy_params = [quoted(ops[2:]), ["'cpu'"], quoted(["float16", "float32"])]
    range_params = [quoted(ops[2:]), ["'cpu'"], ["'float16'"]]
    started_at = 1_704_067_200_000 + index * 86_400_000 + 3_600_000  # an hour after the commit
    return {
        "version": 2,
        "commit_hash": seed.COMMITS[index],
        "env_name": seed.ENV_NAME,
        "date": 1_704_067_200_000 + index * 86_400_000,
        "params": {
            "machine": "ci-linux",
            "python": "3.11",
            "arch": "x86_64",
            "cpu": "test cpu",
            "num_cpu": "2",
        },
        "python": "3.11",
        "requirements": {},
        "env_vars": {},
        "result_columns": seed.COLUMNS,
        "results": {
            TIME: seed._row(time_params, seed._timing(times), started_at),
            MAX_ERROR: seed._row(accuracy_params, {"result": [0.48, 0.47, 0.68, 0.0]}, started_at),
            OVERFLOW: seed._row(range_params, {"result": [11.5, 3.5]}, started_at),
            UNDERFLOW: seed._row(range_params, {"result": [-24.0, -12.0]}, started_at),
        },
        "durations": {},
    }


@pytest.fixture(scope="module")
def models_db(tmp_path_factory):
    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect

    root = tmp_path_factory.mktemp("models")
    results_dir = root / "results"
    machine_dir = results_dir / "ci-linux"
    context_dir = results_dir / "sqrtwatch-context" / "ci-linux"
    machine_dir.mkdir(parents=True)
    context_dir.mkdir(parents=True)

    def entry(name, kind, unit, names):
        return {"name": name, "type": kind, "unit": unit, "param_names": names, "version": "1", "code": name}

    suite = {
        TIME: entry(TIME, "time", "seconds", COMPOSITE_NAMES),
        MAX_ERROR: entry(MAX_ERROR, "track", "eps", ACCURACY_NAMES),
        OVERFLOW: entry(OVERFLOW, "track", "log2 magnitude", RANGE_NAMES),
        UNDERFLOW: entry(UNDERFLOW, "track", "log2 magnitude", RANGE_NAMES),
    }
    (results_dir / "benchmarks.json").write_text(json.dumps(suite | {"version": 2}))
    (machine_dir / "machine.json").write_text(json.dumps({"machine": "ci-linux", "version": 1}))
    for index in range(RUNS):
        stem = f"{seed.COMMITS[index][:8]}-{seed.ENV_NAME}"
        (machine_dir / f"{stem}.json").write_text(json.dumps(results(index)))
        (context_dir / f"{stem}.json").write_text(json.dumps(seed._context("ci-linux", index)))
    path = root / "models.db"
    engine = connect(f"sqlite:///{path}")
    report = ingest_results_dir(engine, results_dir)
    assert not report.errors, report.errors
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def served(models_db, monkeypatch):
    monkeypatch.setenv(DB_ENV_VAR, models_db)
    monkeypatch.delenv(READ_ONLY_ENV_VAR, raising=False)


def test_models_page_shows_library_beside_formula_and_the_example_workload(served):
    app = open_page("models")
    side_by_side = chart_data(app, 0)
    library = next(t for t in side_by_side if t["name"] == "library")
    hand = next(t for t in side_by_side if t["name"] == "handwritten")
    assert numbers(hand["y"]) == pytest.approx([2 * y for y in numbers(library["y"])], rel=0.02)
    trend = chart_data(app, 1)
    assert {t["x"][0] for t in trend} == {"2.11.0"} and all(len(t["x"]) == 2 for t in trend)
    ranges = app.dataframe[0].value
    row = ranges[ranges["dtype"] == "float16"].iloc[0]
    assert (row["handwritten overflow"], row["library overflow"]) == (3.5, 11.5)
    workload = chart_data(app, 2)[0]
    assert any("sqrt" in label for label in workload["y"])
    assert any("operator calls" in caption.value for caption in app.caption)


def test_models_page_accuracy_by_dtype(served):
    app = open_page("models", {"metric": "CompositeAccuracy.track_max_error"})
    table = app.dataframe[0].value
    hand = table[table["impl"] == "handwritten"].iloc[0]
    assert (hand["op"], hand["float16"], hand["float32"]) == ("vector_norm", 0.68, 0.0)


def test_side_by_side_ratio_and_newest_run_only():
    values = pd.DataFrame(
        {
            "op": ["rms_norm"] * 4,
            "impl": ["library", "handwritten"] * 2,
            "machine": ["m"] * 4,
            "device": ["cpu"] * 4,
            "dtype": ["float32"] * 4,
            "size": ["small"] * 4,
            "value": [1.0, 3.0, 2.0, 3.0],
            "run_id": [1, 1, 2, 2],
            "commit_date": pd.to_datetime([1, 1, 2, 2], unit="D"),
        }
    )
    table = frames.side_by_side(values)
    assert table[["library", "handwritten", "ratio"]].to_numpy().tolist() == [[2.0, 3.0, 1.5]]
    figure = figures.make_side_by_side_figure(table)
    assert [trace.name for trace in figure.data] == ["library", "handwritten"]
    # optimizer steps: the for-loop form plays the library
    steps = values.assign(impl=values["impl"].replace({"library": "forloop"}))
    assert frames.side_by_side(steps, "forloop")["ratio"].tolist() == [1.5]
    assert frames.side_by_side(steps).empty


def test_workload_breakdown_and_figure_from_a_trace_file():
    workload = {
        "ops": [
            {
                "op": "aten.sqrt.default",
                "args": [{"tensor": [4, 8], "dtype": "float32", "device": "cpu"}],
                "calls": 3,
                "seconds": 0.002,
                "share": 0.25,
            },
            {
                "op": "aten._foreach_norm.Scalar",
                "args": [[{"tensor": [9], "dtype": "float16", "device": "cpu"}], 2],
                "calls": 1,
                "seconds": 0.001,
                "share": 0.125,
            },
        ]
    }
    table = frames.workload_breakdown(workload)
    assert table["label"].tolist() == ["00 sqrt 4x8 float32", "01 _foreach_norm.Scalar 9 float16"]
    assert table["ms"].tolist() == [2.0, 1.0]
    figure = figures.make_workload_figure(table)
    assert list(figure.data[0].x) == [0.125, 0.25]  # smallest share at the bottom


def test_model_trend_orders_torch_versions_and_empty_frames_give_messages():
    frame = pd.DataFrame(
        {
            "impl": ["library"] * 3,
            "dtype": ["float16"] * 3,
            "size": [""] * 3,
            "device": ["cpu"] * 3,
            "torch_version": ["2.10.0", "2.9.0", "2.9.0"],
            "value": [3.0, 1.0, 2.0],
        }
    )
    trend = frames.model_trend(frame, "torch_version")
    assert trend["torch_version"].tolist() == ["2.9.0", "2.10.0"]
    assert trend["value"].tolist() == [1.5, 3.0]
    assert trend["label"].iloc[0] == "library · float16 · cpu"
    for figure in (
        figures.make_side_by_side_figure(pd.DataFrame()),
        figures.make_model_trend_figure(pd.DataFrame(), "torch_version", "eps"),
        figures.make_workload_figure(frames.workload_breakdown({})),
    ):
        assert figure.layout.annotations
