"""The context describes the benchmark processes: collected in a process with their environment."""

from __future__ import annotations

import os

import pytest

from benchmarks.common import thread_count
from sqrtwatch.context import collect_context, suite_threads
from sqrtwatch.runner import Checkout, benchmark_env, collect_context_as_benchmarks
from tests.conftest import REPO_ROOT


def test_what_a_sitecustomize_and_the_variables_do_to_the_processes_is_recorded(tmp_path):
    """A library that flushes subnormals (as one built with -ffast-math does), and one thread."""
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text("import torch\ntorch.set_flush_denormal(True)\n")
    env = benchmark_env("quick", tmp_path / "detail") | {
        "PYTHONPATH": os.pathsep.join([str(plugin), str(REPO_ROOT)]),
        "OMP_NUM_THREADS": "1",
    }
    context = collect_context_as_benchmarks(Checkout(REPO_ROOT), env)
    assert context["subnormals_flushed"] == {"torch": True, "numpy": True}
    assert (context["threads"], context["env"]["OMP_NUM_THREADS"]) == (1, "1")
    assert context["env"]["SQRTWATCH_PROFILE"] == "quick"
    assert "SQRTWATCH_DETAIL_DIR" not in context["env"]  # a temporary folder, new every run


def test_this_process_context_has_the_identity_fields():
    import torch

    context = collect_context()
    assert context["subnormals_flushed"] == {"torch": False, "numpy": False}
    assert context["cpu_isa"] == torch.backends.cpu.get_cpu_capability()
    assert context["threads"] == thread_count("all")
    assert context["math_libraries"]  # this torch names its BLAS/LAPACK at least
    assert {pool["internal_api"] for pool in context["thread_pools"]}  # threadpoolctl sees torch's OpenMP
    assert context["os_image"] and context["format_version"] == 2


@pytest.mark.parametrize("omp", [None, "1", "1,1", "64", "0", "four", ""])
def test_the_recorded_thread_count_is_the_one_the_suites_use(monkeypatch, omp):
    """Both honour OMP_NUM_THREADS, at most the cores this process may use (asv kept it, the suites did not)."""
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert suite_threads() == thread_count("all")
    assert thread_count("1") == 1
    if omp in ("1", "1,1"):
        assert suite_threads() == 1
