"""The --bench patterns of a run select exactly the cells of its profile on its usable devices."""

from __future__ import annotations

import itertools
import re

import pytest

from benchmarks import common, profiles


def asv_cell_names(prefix: str, cls) -> dict[str, dict]:
    """Every cell name as asv matches ``--bench`` against it, with its parameter dict."""
    methods = [m for m in dir(cls) if m.startswith(profiles.BENCHMARK_PREFIXES)]
    return {
        f"{prefix}{method}({', '.join(map(repr, combo))})": dict(zip(cls.param_names, combo))
        for method in methods
        for combo in itertools.product(*cls.params)
    }


def test_patterns_select_exactly_the_quick_cells(monkeypatch):
    monkeypatch.setenv(common.PROFILE_ENV_VAR, "quick")
    patterns = [re.compile(p) for p in profiles.bench_patterns("quick", common.DEVICES)]
    classes = [(prefix, cls) for prefix, cls in profiles._suite_classes() if hasattr(cls, "quick_grids")]
    assert classes
    for prefix, cls in classes:
        for name, cell in asv_cell_names(prefix, cls).items():
            selected = any(p.search(name) for p in patterns)
            try:
                common.require_profile(cls.quick_grids, cell)
                runs_in_quick = True
            except NotImplementedError:
                runs_in_quick = False
            assert selected == runs_in_quick, name


@pytest.mark.parametrize(
    ("name", "selected"),
    [
        ("bench_throughput.Sqrt.time_sqrt('cpu', 'float32', 100000, 'out')", True),
        ("bench_throughput.Sqrt.time_sqrt('cpu', 'float16', 100000, 'out')", False),
        ("bench_accuracy.Accuracy.track_max_ulp('cpu', 'bfloat16', 'torch.sqrt')", True),
    ],
)
def test_known_cells(name, selected):
    assert any(re.search(p, name) for p in profiles.bench_patterns("quick", common.DEVICES)) == selected


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_cells_of_absent_devices_are_never_named(profile):
    """asv starts a process per named cell per round: absent devices must not be named at all."""
    patterns = [re.compile(p) for p in profiles.bench_patterns(profile, ["cpu"])]
    everywhere = [re.compile(p) for p in profiles.bench_patterns(profile, common.DEVICES)]
    named = 0
    for prefix, cls in profiles._suite_classes():
        if not hasattr(cls, "params"):
            continue
        for name, cell in asv_cell_names(prefix, cls).items():
            selected = any(p.search(name) for p in patterns)
            if cell.get("device", "cpu") != "cpu":
                assert not selected, name
            else:
                assert selected == any(p.search(name) for p in everywhere), name
                named += selected
    assert named > 0


def test_plan_probes_the_devices_of_this_machine():
    import torch

    plan = profiles.plan("full")
    assert "cpu" in plan["devices"]
    assert ("cuda" in plan["devices"]) == torch.cuda.is_available()
    assert set(plan["devices"]) | set(plan["unusable"]) == set(common.DEVICES)


def test_a_device_that_reports_available_but_cannot_compute_is_unusable():
    """Hosted macOS: torch may say MPS is available and then fail to allocate."""
    import torch

    def broken_sync():
        raise RuntimeError("MPS backend out of memory")

    assert common.probe_device("cpu", lambda: True, torch.cpu.synchronize) is None
    assert common.probe_device("mps", lambda: False, broken_sync) == "no MPS device"
    reason = common.probe_device("cpu", lambda: True, broken_sync)
    assert reason is not None
    assert reason.startswith("cpu reported available but unusable: RuntimeError: MPS backend out of memory")
    # torch's own failure to allocate on a device it cannot reach: CUDA in a CPU build
    if not torch.cuda.is_available():
        assert "unusable" in (common.probe_device("cuda", lambda: True, torch.cuda.synchronize) or "")
