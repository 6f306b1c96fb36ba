"""One benchmark taxonomy: every kind, and every benchmark the suites declare."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from benchmarks import bench_accuracy, bench_alternatives, bench_crossover, bench_throughput
from sqrtwatch.dashboard import frames
from sqrtwatch.db.detection.series import Series
from sqrtwatch.db.taxonomy import Kind, kind_of

SIZED = {"device", "dtype", "size"}
ACCURACY_PARAMS = {"device", "dtype", "impl"}


@pytest.mark.parametrize(
    ("type_", "unit", "params", "kind"),
    [
        ("time", "seconds", SIZED, Kind.TIME),
        ("track", "us", {"device", "dtype", "variant"}, Kind.TIME),
        ("track", "GB/s", SIZED, Kind.RATE),
        ("track", "elements/s", SIZED, Kind.RATE),
        ("track", "gbps", SIZED, Kind.RATE),
        ("track", "fraction", SIZED, Kind.ROOFLINE),
        ("track", "ratio", SIZED, Kind.SPEEDUP),
        ("mem", "bytes", SIZED, Kind.MEMORY),
        ("peakmem", "bytes", SIZED, Kind.MEMORY),
        ("track", "count", ACCURACY_PARAMS, Kind.ACCURACY),
        ("track", "ulp", ACCURACY_PARAMS, Kind.ACCURACY),
        ("track", "fraction", ACCURACY_PARAMS, Kind.ACCURACY),
        ("track", "widgets", SIZED, Kind.OTHER),
        (None, "seconds", set(), Kind.TIME),  # results without benchmarks.json: the unit decides
    ],
)
def test_kind_from_type_unit_and_parameters(type_, unit, params, kind):
    assert kind_of(type_, unit, params) is kind


def test_direction_and_exactness_of_each_kind():
    assert {k for k in Kind if k.exact} == {Kind.ACCURACY}
    assert {k for k in Kind if k.higher_is_better} == {Kind.RATE, Kind.ROOFLINE, Kind.SPEEDUP}


def declared_benchmarks():
    """(name, asv type, unit, parameter names) of every benchmark in the suites, as asv reads them."""
    for module in (bench_accuracy, bench_alternatives, bench_crossover, bench_throughput):
        for class_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for name, method in inspect.getmembers(cls, inspect.isfunction):
                type_ = name.split("_", 1)[0]
                if type_ in ("time", "track", "mem", "peakmem"):
                    unit = getattr(method, "unit", "seconds" if type_ == "time" else "unit")
                    qualified = f"{module.__name__.split('.')[-1]}.{class_name}.{name}"
                    yield qualified, type_, unit, set(getattr(cls, "param_names", []))


EXPECTED = {
    "bench_accuracy.Accuracy.track_mismatches": Kind.ACCURACY,
    "bench_accuracy.Accuracy.track_mismatch_fraction": Kind.ACCURACY,
    "bench_accuracy.Accuracy.track_max_ulp": Kind.ACCURACY,
    "bench_accuracy.Accuracy.track_mean_ulp": Kind.ACCURACY,
    "bench_accuracy.Accuracy.track_special_value_failures": Kind.ACCURACY,
    "bench_alternatives.Alternatives.time_sqrt": Kind.TIME,
    "bench_crossover.CpuVsGpu.time_roundtrip": Kind.TIME,
    "bench_crossover.CpuVsGpuSpeedup.track_speedup_vs_cpu": Kind.SPEEDUP,
    "bench_throughput.Sqrt.time_sqrt": Kind.TIME,
    "bench_throughput.SqrtThreads.time_sqrt": Kind.TIME,
    "bench_throughput.SqrtDomain.time_sqrt": Kind.TIME,
    "bench_throughput.Bandwidth.track_gbps": Kind.RATE,
    "bench_throughput.Bandwidth.track_elements_per_s": Kind.RATE,
    "bench_throughput.Bandwidth.track_roofline_fraction": Kind.ROOFLINE,
    "bench_throughput.SmallTensor.track_us_per_call": Kind.TIME,
}


def test_every_suite_benchmark_declares_its_kind():
    declared = {name: kind_of(type_, unit, params) for name, type_, unit, params in declared_benchmarks()}
    assert declared == EXPECTED


def test_a_renamed_accuracy_suite_stays_exact():
    series = Series(
        key=("m", "env", "bench_renamed.Checks.track_max_ulp", '{"dtype":"\'float32\'"}', ""),
        unit="ulp",
        type="track",
        columns=np.arange(2),
        ok=np.ones(2, dtype=bool),
        benchmark_ids=np.ones(2, dtype=np.int64),
        values=np.array([0.0, 1.0]),
        samples=np.array([None, None], dtype=object),
    )
    assert series.kind is Kind.ACCURACY


def test_the_dashboard_views_follow_the_taxonomy():
    for name, type_, unit, params in declared_benchmarks():
        view = frames.classify(name, unit, params, type_)
        kind = kind_of(type_, unit, params)
        if view == frames.KIND_ACCURACY:
            assert kind is Kind.ACCURACY, name
        elif view == frames.KIND_ROOFLINE:
            assert kind is Kind.ROOFLINE, name
        elif view == frames.KIND_GBPS:
            assert kind is Kind.RATE, name
        elif view is not None:
            assert kind is Kind.TIME, name


def _detected(tmp_path, spec, values: list[float]) -> list[dict]:
    from sqrtwatch.db.detection.alerts import list_alerts
    from sqrtwatch.db.detection.detect import detect_alerts
    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect
    from tests.asv_history import write_history

    write_history(tmp_path / "results", [spec], {spec.name: [[v] for v in values]})
    engine = connect(f"sqlite:///{tmp_path / 'kinds.db'}")
    assert not ingest_results_dir(engine, tmp_path / "results").errors
    detect_alerts(engine, thresholds={})
    alerts = list_alerts(engine, "all")
    engine.dispose()
    return alerts


def test_a_faster_gpu_is_an_improvement_of_its_speedup(tmp_path):
    """Speedups (unit "ratio") were read as lower-is-better: a GPU getting faster raised a regression."""
    from tests.asv_history import BenchmarkSpec

    spec = BenchmarkSpec("bench_crossover.CpuVsGpuSpeedup.track_speedup_vs_cpu", unit="ratio")
    values = [2.0 * (1 + 0.002 * (k % 3)) for k in range(10)] + [3.0] * 4
    (alert,) = _detected(tmp_path, spec, values)
    assert alert["kind"] == "improvement"


def test_a_renamed_accuracy_suite_alerts_on_one_ulp(tmp_path):
    from tests.asv_history import BenchmarkSpec

    spec = BenchmarkSpec("bench_checks.Rounding.track_max_ulp", unit="ulp")
    (alert,) = _detected(tmp_path, spec, [0.5] * 10 + [0.5000001] * 2)
    assert alert["kind"] == "regression"
