"""The throughput suites: static grids, skip behaviour, seeded inputs, plug-ins, asv check."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import bench_alternatives, bench_crossover, bench_throughput, common, metrics
from sqrtwatch.runner import Checkout, write_run_config
from tests.conftest import REPO_ROOT

SUITES = [bench_throughput, bench_alternatives, bench_crossover]
GRID_NAMES = {"device", "dtype", "size", "variant", "threads", "domain", "impl"}


def benchmark_classes():
    for module in SUITES:
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and hasattr(cls, "params"):
                yield pytest.param(cls, id=f"{module.__name__.split('.')[-1]}.{name}")


@pytest.fixture
def full_profile(monkeypatch):
    monkeypatch.setenv(common.PROFILE_ENV_VAR, "full")


@pytest.fixture
def quick_profile(monkeypatch):
    monkeypatch.setenv(common.PROFILE_ENV_VAR, "quick")


@pytest.mark.parametrize("cls", list(benchmark_classes()))
def test_parameters_are_static_plain_values_named_after_the_grid(cls):
    assert set(cls.param_names) <= GRID_NAMES
    assert len(cls.params) == len(cls.param_names)
    for values in cls.params:
        assert values and all(type(v) in (str, int) for v in values)
    assert isinstance(cls.version, str)
    for grid in cls.quick_grids:
        for name, allowed in grid.items():
            assert name in cls.param_names
            assert set(allowed) <= set(cls.params[cls.param_names.index(name)])


def test_every_module_imports_with_no_gpu_visible():
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    modules = ["common", "metrics", "bench_throughput", "bench_alternatives", "bench_crossover"]
    code = "".join(f"import benchmarks.{module}\n" for module in modules)
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True, capture_output=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_cells_skip_without_a_gpu(full_profile):
    with pytest.raises(NotImplementedError, match="no CUDA"):
        bench_throughput.Sqrt().setup("cuda", "float32", 1_000, "out")
    with pytest.raises(NotImplementedError, match="no CUDA"):
        bench_crossover.CpuVsGpuSpeedup().setup("cuda", "float32", 1_000)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="an MPS device is present")
def test_mps_cells_skip_without_mps(full_profile):
    with pytest.raises(NotImplementedError, match="no MPS"):
        bench_throughput.SqrtDomain().setup("mps", "float32", 100_000, "subnormal")


def test_cells_that_mean_nothing_here_skip(full_profile):
    with pytest.raises(NotImplementedError, match="GPUs only"):
        bench_throughput.Sqrt().setup("cpu", "float32", 100_000_000, "out")
    with pytest.raises(NotImplementedError, match=r"math\.sqrt"):
        bench_alternatives.Alternatives().setup("math.sqrt", "cpu", "float64", 100_000)
    with pytest.raises(NotImplementedError, match="bfloat16"):
        bench_alternatives.Alternatives().setup("numpy", "cpu", "bfloat16", 1_000)
    with pytest.raises(NotImplementedError, match="float32 and float64 only"):
        bench_alternatives.Alternatives().setup("torch.compile", "cpu", "complex64", 1_000)


def test_quick_profile_skips_cells_outside_its_grid(quick_profile):
    with pytest.raises(NotImplementedError, match="quick profile"):
        bench_throughput.Sqrt().setup("cpu", "complex128", 1_000, "out")
    with pytest.raises(NotImplementedError, match="quick profile"):
        bench_alternatives.Alternatives().setup("torch.compile", "cpu", "float64", 1_000)
    bench_throughput.Sqrt().setup("cpu", "float64", 100_000, "out")  # inside: runs


def test_unknown_profile_is_an_error_not_a_skip(monkeypatch):
    monkeypatch.setenv(common.PROFILE_ENV_VAR, "fast")
    with pytest.raises(ValueError, match="SQRTWATCH_PROFILE='fast'"):
        bench_throughput.Sqrt().setup("cpu", "float32", 1, "out")


@pytest.mark.parametrize("dtype", common.DTYPES)
@pytest.mark.parametrize("domain", common.DOMAINS)
def test_inputs_are_seeded_and_in_their_domain(dtype, domain):
    values = common.domain_values(domain, 10_000, dtype)
    np.testing.assert_array_equal(values, common.domain_values(domain, 10_000, dtype))
    assert int((values < 0).sum()) == int(10_000 * common.NEGATIVE_FRACTION[domain])
    tensor = common.contiguous_input(dtype, 10_000, domain, "cpu")
    assert tensor.dtype == getattr(torch, dtype)
    x = tensor.real
    tiny = torch.finfo(x.dtype).tiny
    if domain == "subnormal":
        assert bool(((x > 0) & (x < tiny)).all()), "every input is a nonzero subnormal"
    else:
        assert bool((x.abs() >= tiny).all()), "no input is subnormal"


def test_strided_input_is_every_other_element_of_the_same_seeded_data():
    x = common.input_tensor("float32", 1_000, "positive", "cpu", strided=True)
    assert x.shape == (1_000,) and x.stride() == (2,)
    assert torch.equal(x, common.contiguous_input("float32", 2_000, "positive", "cpu")[::2])


def test_inplace_cell_gets_a_fresh_copy_from_prepare():
    cell = common.sqrt_cell("cpu", "float64", 1_000, "inplace", "positive")
    assert cell.prepare is not None
    cell.prepare()
    cell.call()
    assert torch.equal(cell.buffer, torch.sqrt(cell.x))
    cell.prepare()
    assert torch.equal(cell.buffer, cell.x), "prepare restores the input before the next call"


@pytest.mark.parametrize("variant", common.VARIANTS)
def test_every_variant_computes_the_square_root(variant):
    cell = common.sqrt_cell("cpu", "float32", 1_000, variant, "positive")
    if cell.prepare is not None:
        cell.prepare()
    assert torch.equal(cell.call(), torch.sqrt(cell.x))


def test_sample_grid_pools_every_pass_and_keeps_the_reason_a_cell_skips(quick_profile):
    class Suite:
        params = [["cpu", "cuda"], ["float32", "float64"], ["out"]]
        param_names = ["device", "dtype", "variant"]
        quick_grids = [{"dtype": {"float32"}}]
        budget = metrics.Budget(min_samples=2, max_samples=2, max_seconds=0.0)
        passes = 3

    outcomes = bench_throughput.sample_grid(Suite, bench_throughput.small_tensor_samples)
    measured = outcomes[("cpu", "float32", "out")]
    assert isinstance(measured, dict)
    assert len(measured["sqrt"]) == 3, "one sample (ceil(2 / 3)) from each of three passes"
    assert outcomes[("cuda", "float32", "out")] == "no CUDA device"
    assert outcomes[("cpu", "float64", "out")] == "outside the quick profile"


def test_bandwidth_measures_its_grid_once_and_tracks_agree_with_the_arithmetic(quick_profile):
    bench = bench_throughput.Bandwidth()
    bench.budget = metrics.Budget(min_samples=3, max_samples=3, max_seconds=0.0)
    bench.passes = 2
    bench.params = [["cpu", "cuda"], ["float32", "float64"], [10_000_000], ["out", "allocating"]]
    measured = bench.setup_cache()
    params = ("cpu", "float32", 10_000_000, "out")
    bench.setup(measured, *params)
    sample = measured[params]
    assert sample.nbytes == 80_000_000
    assert bench.track_gbps(measured, *params) == pytest.approx(80e6 / sample.sqrt_seconds / 1e9)
    assert bench.track_elements_per_s(measured, *params) == pytest.approx(1e7 / sample.sqrt_seconds)
    assert bench.track_roofline_fraction(measured, *params) == pytest.approx(
        sample.copy_seconds / sample.sqrt_seconds
    )
    with pytest.raises(NotImplementedError, match="quick profile"):
        bench.setup(measured, "cpu", "float64", 10_000_000, "allocating")
    with pytest.raises(NotImplementedError):
        bench.setup(measured, "cuda", "float32", 10_000_000, "out")


def test_plugin_names_parse_leniently():
    builtins = bench_alternatives.BUILTIN_IMPLS
    assert common.plugin_names(builtins, "mine=pkg.mod:fn; other = m:f;;mine=x:y") == ["mine", "other"]
    assert common.plugin_names(builtins, "") == []
    assert common.plugin_names(builtins, "torch.sqrt=m:f") == [], "built-ins are not duplicated"
    assert common.plugin_names(builtins, "no_equals_sign") == ["no_equals_sign"], "it fails its cells, loudly"


def test_both_suites_take_the_same_plugins_from_the_environment():
    script = (
        "from benchmarks import bench_accuracy as acc, bench_alternatives as alt\n"
        "print([n for n in acc.IMPLS if n not in acc.BUILTIN_IMPLS], [n for n in alt.IMPLS if n not in alt.BUILTIN_IMPLS])\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SQRTWATCH_IMPLS": "fast=k:f;broken;numpy=m:f",
        "PYTHONPATH": str(REPO_ROOT),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True
    )
    assert completed.stdout.strip() == "['fast', 'broken'] ['fast', 'broken']"


def test_registered_plugin_is_benchmarked_by_name(tmp_path):
    (tmp_path / "my_kernels.py").write_text("import torch\n\ndef root(x):\n    return torch.sqrt(x)\n")
    script = (
        "from benchmarks import bench_alternatives as b\n"
        "assert b.IMPLS[-1] == 'mine', b.IMPLS\n"
        "bench = b.Alternatives()\n"
        "bench.setup('mine', 'cpu', 'float32', 1000)\n"
        "bench.time_sqrt('mine', 'cpu', 'float32', 1000)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SQRTWATCH_IMPLS": "mine=my_kernels:root",
        "PYTHONPATH": f"{REPO_ROOT}:{tmp_path}",
    }
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, check=True, capture_output=True)


@pytest.mark.slow
def test_asv_check_passes(tmp_path):
    config = write_run_config(Checkout(REPO_ROOT), tmp_path / "results", tmp_path / "asv.conf.json")
    assert json.loads(Path(config).read_text())["benchmark_dir"] == str(REPO_ROOT / "benchmarks")
    completed = subprocess.run(
        [sys.executable, "-m", "asv", "check", "--config", str(config), "-E", f"existing:{sys.executable}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No problems found" in completed.stdout


def test_runner_forks_benchmark_processes_only_on_linux_without_a_gpu(monkeypatch, tmp_path):
    from sqrtwatch import runner

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(runner, "GPU_DEVICE_NODES", (str(tmp_path / "nvidiactl"),))
    assert runner.launch_method() == "forkserver"
    (tmp_path / "nvidiactl").touch()
    assert runner.launch_method() == "spawn", "CUDA does not survive a fork"
    monkeypatch.setattr(sys, "platform", "darwin")
    (tmp_path / "nvidiactl").unlink()
    assert runner.launch_method() == "spawn"
