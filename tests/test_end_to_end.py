"""The thin slice, for real: asv run -> results -> SQLite -> dashboard chart."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest
import torch
from asv.results import Results

from sqrtwatch.archive import ARCHIVE_DIR_NAME
from tests.conftest import REPO_ROOT, TINY_BENCH, run_sqrtwatch
from tests.test_dashboard_pages import PAGES, chart_data, numbers, open_page, trace

pytestmark = pytest.mark.slow

BENCHMARK = "bench_throughput.Sqrt.time_sqrt"
CELL = {"device": "'cpu'", "dtype": "'float32'", "size": "100000", "variant": "'out'"}


def asv_value(results_dir, benchmark: str, cell: dict[str, str]) -> float:
    """The value asv itself reads back from its results file for one parameter combination."""
    (machine_dir,) = [p for p in results_dir.iterdir() if (p / "machine.json").exists()]
    (path,) = [p for p in machine_dir.glob("*.json") if p.name != "machine.json"]
    results = Results.load(str(path))
    params = results.get_result_params(benchmark)
    values = results.get_result_value(benchmark, params)
    for combo, value in zip(itertools.product(*params), values):
        if list(combo) == list(cell.values()):
            return value
    raise AssertionError(f"{cell} not in {path}")


@pytest.fixture
def ingested(asv_results, tmp_path):
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    run_sqrtwatch("ingest", str(asv_results), "--db", url)
    return url


def exported(url: str) -> list[dict]:
    out = run_sqrtwatch("export", "--db", url, "--format", "jsonl").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_run_writes_asv_results_and_context(asv_results):
    (context_file,) = (asv_results / "sqrtwatch-context").glob("*/*.json")
    context = json.loads(context_file.read_text())
    assert context["torch_version"] == torch.__version__
    assert context["cpu_isa"] == torch.backends.cpu.get_cpu_capability()
    assert context["profile"] == "quick"
    machine = context_file.parent.name
    assert (asv_results / machine / context_file.name).exists()  # beside its results file


def test_plain_asv_publish_still_works(asv_results_copy, tmp_path):
    # With sqrtwatch's context files and run archive in the results directory.
    assert list((asv_results_copy / ARCHIVE_DIR_NAME).glob("*/*.json"))
    config = json.loads((REPO_ROOT / "asv.conf.json").read_text())
    config |= {
        "repo": str(REPO_ROOT),
        "benchmark_dir": str(REPO_ROOT / "benchmarks"),
        "results_dir": str(asv_results_copy),
        "html_dir": str(tmp_path / "html"),
    }
    (tmp_path / "asv.conf.json").write_text(json.dumps(config))
    subprocess.run(
        [sys.executable, "-m", "asv", "publish", "--config", str(tmp_path / "asv.conf.json")], check=True
    )
    assert (tmp_path / "html" / "index.json").exists()


def test_ingest_stores_what_asv_measured_once(asv_results, ingested):
    rows = exported(ingested)
    (row,) = [r for r in rows if r["benchmark"] == BENCHMARK and r["params"] == CELL]
    assert row["status"] == "ok" and row["unit"] == "seconds"
    assert row["value"] == pytest.approx(asv_value(asv_results, BENCHMARK, CELL), rel=1e-12)
    assert row["n_samples"] and row["n_samples"] >= 5
    # cells outside the quick profile are skipped, not failed
    assert any(r["benchmark"] == BENCHMARK and r["status"] == "skipped" for r in rows)

    again = run_sqrtwatch("ingest", str(asv_results), "--db", ingested)
    assert exported(ingested) == rows, again.stdout


SECONDS_PER = {"s per call": 1.0, "ms per call": 1e-3, "µs per call": 1e-6, "ns per call": 1e-9}


def trend_seconds(machine: str) -> list[float]:
    """The seconds per call the Trends page plots for BENCHMARK at CELL, back from its time unit."""
    query = {"bench": BENCHMARK} | {f"p.{name}": text.strip("'") for name, text in CELL.items()}
    app = open_page("trends", query)
    unit = json.loads(app.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["title"]["text"]
    return [value * SECONDS_PER[unit] for value in numbers(trace(chart_data(app), machine)["y"])]


def test_dashboard_trend_chart_shows_the_measured_value(ingested, monkeypatch):
    monkeypatch.setenv("SQRTWATCH_DB", ingested)
    (row,) = [r for r in exported(ingested) if r["benchmark"] == BENCHMARK and r["params"] == CELL]
    assert trend_seconds(row["machine"]) == pytest.approx([row["value"]], rel=1e-9)


def test_every_page_shows_the_real_quick_run(ingested, monkeypatch):
    """After a first quick run the Overview's throughput panel plots what the run measured."""
    monkeypatch.setenv("SQRTWATCH_DB", ingested)
    run_sqrtwatch("detect", "--db", ingested)
    for page in PAGES:
        open_page(page)
    measured: dict[str, list[float]] = {}
    for r in exported(ingested):
        if r["benchmark"] == "bench_throughput.Bandwidth.track_gbps" and r["status"] == "ok":
            measured.setdefault(r["params"]["dtype"].strip("'"), []).append(r["value"])
    assert measured, "the quick profile measures the Bandwidth cells at 1e7 elements"
    panel = chart_data(open_page("overview"))
    shown = {t["name"]: numbers(t["y"]) for t in panel if t.get("xaxis", "x") == "x"}  # the GB/s row
    assert set(shown) == set(measured)
    for dtype, (value,) in shown.items():
        assert value > 0 and value in measured[dtype]


def test_a_second_run_at_the_same_commit_is_a_second_point(asv_results_copy, tmp_path, monkeypatch):
    """``make demo`` twice: two points; the context is the benchmark processes' (their variables)."""
    bench_args = [arg for pattern in TINY_BENCH for arg in ("--bench", pattern)]
    environ = dict(os.environ, OMP_NUM_THREADS="1")
    run_sqrtwatch("run", "--quick", "--results", str(asv_results_copy), *bench_args, env=environ)
    (context_file,) = (asv_results_copy / "sqrtwatch-context").glob("*/*.json")
    context = json.loads(context_file.read_text())
    assert (context["env"]["OMP_NUM_THREADS"], context["threads"]) == ("1", 1)
    assert context["subnormals_flushed"] == {"torch": False, "numpy": False}
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    run_sqrtwatch("ingest", str(asv_results_copy), "--db", url)
    points = [r for r in exported(url) if r["benchmark"] == BENCHMARK and r["params"] == CELL]
    assert len(points) == 2 and len({r["started_at"] for r in points}) == 2
    alerts = json.loads(run_sqrtwatch("alerts", "--db", url, "--format", "json").stdout)
    assert all("cause" in alert for alert in alerts)
    monkeypatch.setenv("SQRTWATCH_DB", url)  # and the dashboard draws both, in run-time order
    by_time = sorted(points, key=lambda r: r["started_at"])
    assert trend_seconds(points[0]["machine"]) == pytest.approx([r["value"] for r in by_time], rel=1e-9)
