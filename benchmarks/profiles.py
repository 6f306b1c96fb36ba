"""The cells a run starts, as ``asv run --bench`` patterns: ``python -m benchmarks.profiles``.

Cells outside the profile or on an absent device skip themselves in ``setup``, but asv still
starts a process for each of them, every round (about 1,900 cells; ~0.07 s each with
forkserver, seconds each where asv must spawn). Naming the cells that can run up front lets
asv start only those. A class without ``quick_grids`` handles the quick profile itself (the
accuracy suite samples instead), so all its cells on present devices are named.

``python -m benchmarks.profiles [--profile quick|full] [--devices cpu,cuda]`` prints one JSON
object: ``devices`` (usable here, or as given), ``unusable`` (device -> why) and ``patterns``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import itertools
import json
import pkgutil
import re
from collections.abc import Collection
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


def runnable_cells(cls, profile: str, devices: Collection[str]) -> list[str] | None:
    """The cells of ``cls`` that ``profile`` keeps on ``devices``, as asv writes them
    (``('cpu', 'float32', 100000)``); None when that is every cell."""
    names = list(getattr(cls, "param_names", []))
    grids = getattr(cls, "quick_grids", None) if profile == "quick" else None
    if "device" not in names and grids is None:
        return None
    combos = list(itertools.product(*cls.params))
    kept = []
    for combo in combos:
        cell = dict(zip(names, combo))
        if cell.get("device", "cpu") not in devices:
            continue
        if grids is not None and not any(common.in_grid(grid, cell) for grid in grids):
            continue
        kept.append("(" + ", ".join(repr(value) for value in combo) + ")")
    return None if len(kept) == len(combos) else kept


def bench_patterns(profile: str, devices: Collection[str]) -> list[str]:
    """One anchored regex per benchmark class selecting exactly its runnable cells."""
    patterns = []
    for prefix, cls in _suite_classes():
        methods = sorted(name for name in dir(cls) if name.startswith(BENCHMARK_PREFIXES))
        if not methods:
            continue
        method_alternatives = "(" + "|".join(map(re.escape, methods)) + ")"
        cells = runnable_cells(cls, profile, devices)
        if cells is None:
            patterns.append("^" + re.escape(prefix) + method_alternatives)
        elif cells:
            cell_alternatives = "(" + "|".join(map(re.escape, cells)) + ")"
            patterns.append("^" + re.escape(prefix) + method_alternatives + cell_alternatives + "$")
    return patterns


def plan(profile: str, devices: list[str] | None = None) -> dict:
    """The devices a run uses (probed here unless given) and the patterns of its cells."""
    unusable: dict[str, str] = {}
    if devices is None:
        devices = []
        for device in common.DEVICES:
            reason = common.device_unusable(device)
            if reason is None:
                devices.append(device)
            else:
                unusable[device] = reason
    return {"devices": devices, "unusable": unusable, "patterns": bench_patterns(profile, devices)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=common.PROFILES, default="full")
    parser.add_argument("--devices", help="Comma-separated devices (default: probe this machine).")
    args = parser.parse_args()
    given = None if args.devices is None else [d for d in args.devices.split(",") if d]
    print(json.dumps(plan(args.profile, given)))
