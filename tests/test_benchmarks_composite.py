"""The model suites: static grids, import safety, quick cells, and the workload suite's cells."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

from benchmarks import bench_composite, bench_composite_accuracy, bench_workload, profiles
from sqrtwatch.models import formulas, speed
from tests.conftest import REPO_ROOT

MODULES = [bench_composite, bench_composite_accuracy, bench_workload]


def classes():
    for module in MODULES:
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and not name.startswith("_"):
                yield pytest.param(cls, id=f"{module.__name__.split('.')[-1]}.{name}")


@pytest.mark.parametrize("cls", list(classes()))
def test_parameters_are_static_plain_strings_with_a_version(cls):
    assert len(cls.params) == len(cls.param_names)
    for values in cls.params:
        assert values and all(type(v) is str for v in values)
    assert isinstance(cls.version, str)
    for grid in getattr(cls, "quick_grids", []):
        for name, allowed in grid.items():
            assert set(allowed) <= set(cls.params[cls.param_names.index(name)]), (cls, name)
    for name in dir(cls):
        if name.startswith("track_"):
            assert getattr(cls, name).unit in ("GB/s", "fraction", "eps", "count", "log2 magnitude")


def test_static_lists_match_the_library():
    assert bench_composite.OPS == speed.SPEED_FORMULAS
    assert bench_composite.SIZES == speed.SIZES
    assert bench_composite.OPTIMIZERS == speed.OPTIMIZERS
    assert bench_composite.OPTIMIZER_IMPLS == speed.OPTIMIZER_IMPLS
    assert formulas.formula_names(formulas.OPS) == bench_composite_accuracy.OPS


def test_sizes_map_each_op_to_its_own_shapes():
    assert speed.shape_of("rms_norm", "large") == "4096x4096"
    assert speed.shape_of("group_norm", "small") == "8x64x56x56"
    assert speed.shape_of("cdist", "large") == "2048x2048x64"
    assert speed.optimizer_shape("large") == "8x1048576"
    assert formulas.split_name("std:handwritten") == ("std", "handwritten")
    assert formulas.split_name("cdist") == ("cdist", "library")


def test_every_cell_of_the_composite_grids_names_a_formula_that_exists():
    # The point of the combined ``op`` parameter: no cell skips for a missing formula.
    for name in bench_composite.OPS + bench_composite_accuracy.OPS:
        formulas.formula(*formulas.split_name(name))


def test_suites_import_without_this_checkout_or_a_gpu(tmp_path):
    # Only the benchmarks folder on the path (isolated mode: no PYTHONPATH), no GPU, a workload
    # path that does not exist: the suites must still import and name their cells.
    (tmp_path / "benchmarks").symlink_to(REPO_ROOT / "benchmarks")
    code = "import sys; sys.path.insert(0, '.'); import benchmarks.bench_composite as c, benchmarks."
    code += "bench_composite_accuracy as a, benchmarks.bench_workload as w; assert w.CALLS == ['none']"
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin", "SQRTWATCH_WORKLOAD": "/no/such/file.json"}
    subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, env=env, check=True, capture_output=True)


def test_quick_profile_keeps_a_small_grid_of_the_model_suites(monkeypatch):
    monkeypatch.setenv("SQRTWATCH_PROFILE", "quick")
    patterns = [p for p in profiles.bench_patterns("quick", ["cpu"]) if "composite" in p]
    assert len(patterns) == 6
    time_cells = profiles.runnable_cells(bench_composite.Composite, "quick", ["cpu"])
    assert time_cells is not None
    assert len(time_cells) == 12  # 4 formulas x 2 ways; normalize, batch/group norm, cdist by library
    assert "('rms_norm:handwritten', 'cpu', 'float32', 'small')" in time_cells
    others = [
        bench_composite.OptimizerStep,
        bench_composite.CompositeBandwidth,
        bench_composite.OptimizerBandwidth,
    ]
    others += [bench_composite_accuracy.CompositeAccuracy, bench_composite_accuracy.FormulaRange]
    counts = {cls.__name__: len(profiles.runnable_cells(cls, "quick", ["cpu"]) or []) for cls in others}
    assert counts == {
        "OptimizerStep": 4,
        "CompositeBandwidth": 8,
        "OptimizerBandwidth": 4,
        "CompositeAccuracy": 2,
        "FormulaRange": 6,
    }
    assert any(re.search(p, "bench_composite.Composite.time_op" + time_cells[0]) for p in patterns)


def test_workload_cells_come_from_the_file_in_the_environment(tmp_path):
    path = tmp_path / "w.json"
    op = {"op": "aten.sqrt.default", "args": [{"tensor": [4], "dtype": "float32", "device": "cpu"}]}
    path.write_text(
        json.dumps({"kind": "sqrtwatch-workload", "version": 1, "ops": [op | {"kwargs": {}, "calls": 2}]})
    )
    code = "from benchmarks import bench_workload as b; print(b.CALLS)"
    for content, expected in ((None, "['00 sqrt 4 float32 cpu']"), ("not json", "['none']")):
        if content is not None:
            path.write_text(content)
        env = {"PATH": "/usr/bin:/bin", "SQRTWATCH_WORKLOAD": str(path), "PYTHONPATH": str(REPO_ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert out.stdout.strip() == expected, out.stderr


def test_each_bandwidth_class_has_its_own_setup_cache():
    # asv keys the setup_cache result by the function's source line: a shared inherited one
    # handed OptimizerBandwidth the composite ops' measurements (KeyError in setup).
    for cls in (bench_composite.CompositeBandwidth, bench_composite.OptimizerBandwidth):
        assert "setup_cache" in vars(cls)


def test_an_accuracy_cell_covers_every_input_case():
    cell = bench_composite_accuracy.measure_all_cases("vector_norm:handwritten", "cpu", "float16")
    each = {
        case: formulas.measure("vector_norm", "handwritten", case, "float16") for case in formulas.CASES[:4]
    }
    assert cell.inf == sum(s.inf for s in each.values()) == 128  # large_mean and near_overflow rows
    assert cell.mean_eps == each["random"].mean_eps
    assert cell.max_eps == max(s.max_eps for s in each.values())
    # ops with an eps also get the eps_dominated case
    layer = bench_composite_accuracy.measure_all_cases("layer_norm:handwritten", "cpu", "float16")
    assert layer.zero == sum(
        formulas.measure("layer_norm", "handwritten", c, "float16").zero for c in formulas.CASES
    )
