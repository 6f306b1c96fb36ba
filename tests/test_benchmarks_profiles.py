"""The quick profile's --bench patterns select exactly the cells that run under it."""

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
    patterns = [re.compile(p) for p in profiles.quick_bench_patterns()]
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
    assert any(re.search(p, name) for p in profiles.quick_bench_patterns()) == selected
