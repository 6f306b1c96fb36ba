"""The asv accuracy suite: cells, units, skips and the detail files for ``sqrtwatch run``."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import bench_accuracy
from benchmarks.bench_accuracy import Accuracy, collect_reports, detail_file_name

TRACKS = {
    "track_mismatches": "count",
    "track_mismatch_fraction": "fraction",
    "track_max_ulp": "ulp",
    "track_mean_ulp": "ulp",
    "track_special_value_failures": "count",
}


def test_parameters_are_static_and_cover_the_builtins():
    assert Accuracy.param_names == ["device", "dtype", "impl"]
    assert Accuracy.params[0] == ["cpu", "cuda", "mps"]
    assert {"torch.sqrt", "torch.compile", "pow_half", "mul_rsqrt", "numpy"} <= set(Accuracy.params[2])
    assert Accuracy.version
    assert {name: getattr(Accuracy, name).unit for name in TRACKS} == TRACKS


def test_tracks_return_the_report_numbers_and_detail_files_hold_the_report(tmp_path):
    cells = [
        ("cpu", "float16", "mul_rsqrt"),
        ("cpu", "float64", "torch.sqrt"),
        ("cuda", "float16", "torch.sqrt"),
    ]
    reports = collect_reports(cells, "quick", str(tmp_path))
    bench = Accuracy()
    bench.setup(reports, "cpu", "float16", "mul_rsqrt")
    report = reports[("cpu", "float16", "mul_rsqrt")]
    assert bench.track_mismatches(reports, "cpu", "float16", "mul_rsqrt") == report["mismatches"] > 0
    assert bench.track_max_ulp(reports, "cpu", "float16", "mul_rsqrt") == report["max_ulp"] > 0.5
    assert (
        bench.track_special_value_failures(reports, "cpu", "float16", "mul_rsqrt")
        == report["special_values"]["failed"]
    )
    assert math.isclose(
        bench.track_mismatch_fraction(reports, "cpu", "float16", "mul_rsqrt"), report["mismatches"] / 65536
    )

    assert (
        reports[("cpu", "float64", "torch.sqrt")]["inputs_tested"]
        >= bench_accuracy.SAMPLES["quick"]["float64"]
    )
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["accuracy-mul_rsqrt-float16-cpu.json", "accuracy-torch.sqrt-float64-cpu.json"]
    assert json.loads((tmp_path / written[0]).read_text()) == report


def test_absent_device_and_quick_profile_cells_are_skipped(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    reports = collect_reports(
        [("cuda", "float16", "torch.sqrt"), ("cpu", "float64", "torch.compile")], "quick", None
    )
    for cell in reports:
        with pytest.raises(NotImplementedError):
            Accuracy().setup(reports, *cell)


def test_detail_file_names_are_file_safe():
    assert (
        detail_file_name("my.kernels:fast_sqrt", "float32", "cuda")
        == "accuracy-my.kernels_fast_sqrt-float32-cuda.json"
    )


def test_a_failing_implementation_fails_only_its_cell(monkeypatch):
    monkeypatch.setenv("SQRTWATCH_IMPLS", "broken=tests.test_accuracy_suite:broken_sqrt")
    reports = collect_reports([("cpu", "float16", "broken"), ("cpu", "float16", "numpy")], "quick", None)
    with pytest.raises(RuntimeError, match="wrong on purpose"):
        Accuracy().setup(reports, "cpu", "float16", "broken")
    Accuracy().setup(reports, "cpu", "float16", "numpy")


def broken_sqrt(x):
    raise RuntimeError("wrong on purpose")
