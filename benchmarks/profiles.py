"""The quick profile's cells as ``asv run --bench`` patterns: ``python -m benchmarks.profiles``.

Cells outside the quick profile already skip themselves in ``setup``, but asv still starts
a process for each of them (docs/throughput.md, "Profiles", has the cost). Naming
the quick cells up front lets asv run only those. A class without ``quick_grids`` handles
the profile itself (the accuracy suite samples instead), so all its cells are named.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
from pathlib import Path

from . import common

# asv's benchmark kinds, by method-name prefix.
BENCHMARK_PREFIXES = ("time_", "timeraw_", "track_", "mem_", "peakmem_")


def _suite_classes():
    """``(asv name prefix, class)`` for every public class of every ``bench_*`` module, as asv sees them."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and not name.startswith("_"):
                yield f"{info.name}.{name}.", obj


def quick_cells(cls) -> list[str] | None:
    """The quick cells of ``cls`` as asv writes them (``('cpu', 'float32', 100000)``); None for all."""
    grids = getattr(cls, "quick_grids", None)
    if grids is None:
        return None
    cells = []
    for combo in itertools.product(*cls.params):
        if any(common.in_grid(grid, dict(zip(cls.param_names, combo))) for grid in grids):
            cells.append("(" + ", ".join(repr(value) for value in combo) + ")")
    return cells


def quick_bench_patterns() -> list[str]:
    """One anchored regex per benchmark class selecting exactly its quick-profile cells."""
    patterns = []
    for prefix, cls in _suite_classes():
        methods = sorted(name for name in dir(cls) if name.startswith(BENCHMARK_PREFIXES))
        if not methods:
            continue
        method_alternatives = "(" + "|".join(map(re.escape, methods)) + ")"
        cells = quick_cells(cls)
        if cells is None:
            patterns.append("^" + re.escape(prefix) + method_alternatives)
        elif cells:
            cell_alternatives = "(" + "|".join(map(re.escape, cells)) + ")"
            patterns.append("^" + re.escape(prefix) + method_alternatives + cell_alternatives + "$")
    return patterns


if __name__ == "__main__":
    print("\n".join(quick_bench_patterns()))
