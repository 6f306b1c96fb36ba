"""Every dashboard page rendered by Streamlit's AppTest on a real, really ingested SQLite file."""

from __future__ import annotations

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from sqrtwatch.dashboard.serve import APP_PATH, DB_ENV_VAR, READ_ONLY_ENV_VAR
from sqrtwatch.db.detection.alerts import list_alerts, set_alert_status
from sqrtwatch.db.schema.engine import connect
from tests import dashboard_seed

PAGES = ["overview", "trends", "compare", "accuracy", "models", "hardware", "alerts"]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory):
    """A SQLite file holding the hand-written results, ingested and with alerts detected."""
    return dashboard_seed.seed_database(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture
def dashboard_db(seeded_db, tmp_path, monkeypatch):
    """A private copy of the seeded database, served to the app through SQRTWATCH_DB."""
    path = shutil.copy(seeded_db, tmp_path / "dashboard.db")
    url = f"sqlite:///{path}"
    monkeypatch.setenv(DB_ENV_VAR, url)
    monkeypatch.delenv(READ_ONLY_ENV_VAR, raising=False)
    return url


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """Run the app, switch to ``page`` with ``query`` in the URL, and check nothing raised."""
    app = AppTest.from_file(str(APP_PATH), default_timeout=60)
    app.query_params.update(query or {})
    # Before the first run AppTest finds the page by file name, which is also its url_path.
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def chart_data(app: AppTest, index: int = 0) -> list[dict]:
    """The traces of the ``index``-th Plotly chart on the page."""
    return json.loads(app.get("plotly_chart")[index].proto.spec)["data"]


def trace(traces: list[dict], name: str) -> dict:
    return next(t for t in traces if t.get("name") == name)


def numbers(values) -> list[float]:
    """Plotly trace values, plain lists or base64 typed arrays."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_missing_database_is_named_and_not_created(tmp_path, monkeypatch):
    monkeypatch.setenv(DB_ENV_VAR, f"sqlite:///{tmp_path / 'typo' / 'new.db'}")
    app = open_page("overview")
    assert "no database at" in app.error[0].value
    assert not (tmp_path / "typo").exists()


def test_empty_database_shows_the_start_page(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    connect(url).dispose()
    monkeypatch.setenv(DB_ENV_VAR, url)
    for page in ("overview", "trends", "alerts"):
        app = open_page(page)
        assert "holds no benchmark results yet" in app.info[0].value
        assert "sqrtwatch ingest" in app.code[0].value


def test_unreachable_database_shows_why(monkeypatch):
    monkeypatch.setenv(DB_ENV_VAR, "postgresql+psycopg://nobody@127.0.0.1:9/none")
    app = open_page("overview")
    assert "Cannot open the database" in app.error[0].value
    assert "127.0.0.1" in app.error[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(dashboard_db, page):
    app = open_page(page)
    assert app.title[0].value == page.capitalize()


def test_overview_shows_runs_alerts_and_accuracy(dashboard_db):
    app = open_page("overview")
    metrics = {metric.label: metric.value for metric in app.metric}
    active = list_alerts(connect(dashboard_db), "active")
    assert metrics == {
        "Runs": "16",
        "Machines": "2",
        "torch versions": "3",
        "Active alerts": str(len(active)),
    }
    latest = app.dataframe[-1].value
    assert set(zip(latest["machine"], latest["torch_version"])) == {
        (m, v) for m in dashboard_seed.MACHINES for v in ("2.11.0", "2.12.0", "2.13.0")
    }
    small_multiples, grid = chart_data(app, 0), chart_data(app, 1)
    assert {t["name"] for t in small_multiples} == {"float16", "float32", "float64"}
    cells = dict(zip(grid[0]["y"], grid[0]["text"]))
    assert cells == {
        "bfloat16": ["faithful"],
        "float16": ["correctly rounded"],
        "float32": ["correctly rounded"],
    }


def test_trends_follow_the_url_and_the_filters(dashboard_db):
    query = {
        "bench": dashboard_seed.TIME_SQRT,
        "p.dtype": "float32",
        "p.size": "1000000",
        "machine": "ci-linux",
    }
    app = open_page("trends", query)
    traces = chart_data(app)
    slow = numbers(trace(traces, "ci-linux")["y"])
    assert len(slow) == len(dashboard_seed.COMMITS)
    assert slow[-1] / slow[0] == pytest.approx(1.4, rel=0.03)
    assert trace(traces, "regression")["text"][0].startswith("#")  # the detected alert is marked

    app.selectbox(key="url:p.dtype").select("'float64'").run()
    flat = numbers(trace(chart_data(app), "ci-linux")["y"])
    assert flat != slow and max(flat) / min(flat) < 1.05
    assert app.query_params["p.dtype"] == "float64"  # the shareable URL follows the widget

    app.toggle(key="url:norm").set_value(True).run()
    normalized = numbers(trace(chart_data(app), "ci-linux")["y"])
    assert all(1.1 < v < 1.2 for v in normalized)  # allocating sqrt = 1.15 x the copy, +- jitter

    app.selectbox(key="url:x").select("torch_version").run()
    assert trace(chart_data(app), "ci-linux")["x"] == ["2.11.0", "2.12.0", "2.13.0"]


def test_accuracy_heatmap_and_tables(dashboard_db):
    app = open_page("accuracy", {"metric": "mismatches"})
    heatmap = chart_data(app)[0]
    row = heatmap["y"].index("torch.sqrt · bfloat16 · cpu")
    assert heatmap["x"] == ["2.11.0", "2.12.0", "2.13.0"]
    assert heatmap["text"][row] == ["0", "0", "37"]
    special = app.dataframe[0].value
    assert '"-0.0"' in " ".join(special["case"])
    changes = app.dataframe[2].value
    assert set(changes["dtype"]) == {"bfloat16"} and set(changes["to_version"]) == {"2.13.0"}


def test_accuracy_precision_picture_comes_from_the_stored_reports(dashboard_db):
    app = open_page("accuracy")
    picture = chart_data(app, 1)
    bars = [t for t in picture if t["type"] == "bar"]
    assert len(bars) == len(dashboard_seed.ACCURACY_DTYPES)  # one panel per dtype
    # The newest bfloat16 report (torch 2.13.0) holds its 37 mismatches in binade 2**0.
    bfloat16 = bars[sorted(dashboard_seed.ACCURACY_DTYPES).index("bfloat16")]
    assert dict(zip(numbers(bfloat16["x"]), numbers(bfloat16["y"]))) == {
        -134: 0,
        -133: 0,
        -127: 0,
        0: 37,
        128: 0,
    }
    layout = json.loads(app.get("plotly_chart")[1].proto.spec)["layout"]
    assert {a["text"] for a in layout["annotations"]} >= {"underflow", "subnormal", "overflow"}


def test_hardware_scaling_roofline_and_alternatives(dashboard_db):
    app = open_page("hardware", {"machine": "laptop", "metric": "seconds", "dtype": "float32"})
    scaling = chart_data(app, 0)
    assert {t["name"] for t in scaling} == {"cpu · float32", "copy roofline · cpu · float32"}
    alternatives = chart_data(app, 1)
    speedups = {t["name"]: numbers(t["y"]) for t in alternatives}
    assert speedups["numpy"] == pytest.approx([1 / 1.6] * 2)
    assert speedups["mul_rsqrt"] == pytest.approx([1 / 2.5] * 2)
    assert "crossover needs a GPU run" in app.info[0].value


def test_triage_persists_and_read_only_disables_it(dashboard_db, monkeypatch):
    engine = connect(dashboard_db)
    target = next(a for a in list_alerts(engine, "active") if a["benchmark"] == dashboard_seed.TIME_SQRT)
    app = open_page("alerts", {"alert": str(target["id"])})
    app.text_area[0].input("expected: new allocator")
    next(b for b in app.button if b.label == "Dismiss").click().run()
    assert not app.exception
    dismissed = {a["id"]: a for a in list_alerts(engine, "dismissed")}
    assert dismissed[target["id"]]["triage_note"] == "expected: new allocator"
    assert target["id"] not in set(app.dataframe[0].value["id"])  # gone from the active list

    monkeypatch.setenv(READ_ONLY_ENV_VAR, "1")
    app = open_page("alerts", {"status": "dismissed"})
    assert all(button.disabled for button in app.button)
    assert app.text_area[0].disabled


def test_triage_notes_and_names_show_as_plain_text(dashboard_db):
    engine = connect(dashboard_db)
    target = next(a for a in list_alerts(engine, "active") if a["benchmark"] == dashboard_seed.TIME_SQRT)
    note = "![](http://host/p.png) [click](http://host) <img src=x>"
    set_alert_status(engine, target["id"], "acknowledged", by="mallory", note=note)
    app = open_page("alerts", {"status": "all", "alert": str(target["id"])})
    assert any(note in element.value for element in app.text)
    shown = [element.value for element in (*app.markdown, *app.caption)]
    assert not [value for value in shown if "](http://host" in value or "<img" in value]


def test_compare_torch_versions_like_the_cli(dashboard_db):
    query = {"by": "torch", "base": "2.12.0", "head": "2.13.0", "machine": "ci-linux"}
    app = open_page("compare", query)
    assert (
        app.code[0].value == "sqrtwatch compare torch:2.12.0,machine:ci-linux torch:2.13.0,machine:ci-linux"
    )
    table = app.dataframe[0].value
    regressed = table[table["mark"] == "regressed"]
    assert {"bench_accuracy.Accuracy.track_mismatches", dashboard_seed.TIME_SQRT} <= set(
        regressed["benchmark"]
    )
    bars = chart_data(app)[0]
    finite = table["ratio"].astype(float).between(0, float("inf"), inclusive="neither")
    assert len(bars["y"]) == min(finite.sum(), 40)  # a ratio over a zero base has no bar

    app.multiselect(key="url:marks").select("regressed").run()
    assert set(app.dataframe[0].value["mark"]) == {"regressed"}


@pytest.mark.slow
def test_pages_render_a_real_asv_run(asv_results, tmp_path, monkeypatch):
    """The tiny real asv pass of conftest, ingested for real: no accuracy suite, one machine, one commit."""
    from sqrtwatch.db.ingest.directory import ingest_results_dir

    url = f"sqlite:///{tmp_path / 'real.db'}"
    assert not ingest_results_dir(connect(url), asv_results).errors
    monkeypatch.setenv(DB_ENV_VAR, url)
    for page in PAGES:
        open_page(page)
    app = open_page("trends", {"bench": "bench_throughput.Sqrt.time_sqrt"})
    assert numbers(chart_data(app)[0]["y"])[0] > 0  # the first trace is the band of the measured series
    assert "No accuracy reports stored yet" in open_page("accuracy").info[0].value


def test_alerts_and_trends_show_the_cause_and_the_context_changes(dashboard_db):
    app = open_page("alerts", {"status": "all", "machine": "ci-linux", "kind": "regression"})
    table = app.dataframe[0].value
    mine = table["parameters"].str.contains("dtype=float32, size=1000000, variant=out", regex=False)
    (cause,) = table.loc[mine & (table["benchmark"] == dashboard_seed.TIME_SQRT), "cause"]
    assert "torch_version 2.12.0 -> 2.13.0" in cause  # the slowdown came with the new torch
    query = {
        "bench": dashboard_seed.TIME_SQRT,
        "p.dtype": "float32",
        "p.size": "1000000",
        "machine": "ci-linux",
    }
    app = open_page("trends", query | {"x": "commit"})
    layout = json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]
    texts = [a["text"] for a in layout["annotations"]]
    assert texts == ["torch_version 2.11.0 -> 2.12.0", "torch_version 2.12.0 -> 2.13.0"]
    assert [shape["x0"] for shape in layout["shapes"]] == [dashboard_seed.COMMITS[i][:8] for i in (2, 5)]
