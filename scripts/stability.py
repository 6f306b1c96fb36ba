"""Run-to-run spread of the benchmarks: two asv results of the same code, cell by cell.

For every benchmark, over the cells with a finite value in both runs, prints the median and
the worst |log(b / a)| (as percent: 3% means the two medians differ by a factor 1.03),
first over all cells, then over the cells of size >= 100_000 (where the target is < 3%).

    sqrtwatch run --quick --results /tmp/run-a && sqrtwatch run --quick --results /tmp/run-b
    python scripts/stability.py /tmp/run-a /tmp/run-b

Each argument is an asv results file, or a results directory holding exactly one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

LARGE_SIZE = 100_000


@dataclass(frozen=True)
class Cell:
    benchmark: str
    params: dict[str, str]
    value: float


def results_file(path: Path) -> Path:
    """``path`` itself if it is a file, else the only asv results file under the directory."""
    if path.is_file():
        return path
    candidates = [
        p
        for p in path.glob("*/*.json")
        if p.name not in ("machine.json", "benchmarks.json") and p.parent.name != "sqrtwatch-context"
    ]
    if len(candidates) != 1:
        raise SystemExit(f"{path}: expected one asv results file under it, found {len(candidates)}")
    return candidates[0]


def param_names(results_path: Path) -> dict[str, list[str]]:
    """Parameter names per benchmark from the ``benchmarks.json`` asv writes beside the machine dirs."""
    index = results_path.parent.parent / "benchmarks.json"
    if not index.is_file():
        return {}
    data = json.loads(index.read_text())
    return {name: spec.get("param_names", []) for name, spec in data.items() if isinstance(spec, dict)}


def load_cells(path: Path) -> dict[tuple[str, tuple], Cell]:
    """Finite cell values of one asv results file, keyed by (benchmark, parameter values)."""
    results_path = results_file(path)
    try:
        data = json.loads(results_path.read_text())
        columns = data["result_columns"]
        results = data["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"{results_path}: not an asv results file: {exc}") from exc
    names = param_names(results_path)
    cells = {}
    for benchmark, row in results.items():
        entry = dict(zip(columns, row))
        params = entry.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        labels = names.get(benchmark) or [f"param{i + 1}" for i in range(len(params))]
        for combo, value in zip(combos, entry.get("result") or []):
            if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                cells[(benchmark, combo)] = Cell(benchmark, dict(zip(labels, combo)), float(value))
    return cells


def log_ratios(a: dict, b: dict) -> dict[str, list[tuple[float, Cell]]]:
    """Per benchmark, |log(b / a)| of every cell both runs measured, with the cell."""
    spread: dict[str, list[tuple[float, Cell]]] = {}
    for key in sorted(a.keys() & b.keys()):
        ratio = abs(math.log(b[key].value / a[key].value))
        spread.setdefault(key[0], []).append((ratio, a[key]))
    return spread


def is_large(cell: Cell) -> bool:
    size = cell.params.get("size")
    return size is not None and size.isdigit() and int(size) >= LARGE_SIZE


def print_table(title: str, spread: dict[str, list[tuple[float, Cell]]]) -> None:
    print(f"\n{title}")
    print(f"{'benchmark':58} {'cells':>5} {'median':>8} {'worst':>8}  worst cell")
    everything = []
    for benchmark, items in sorted(spread.items()):
        if not items:
            continue
        ratios = [r for r, _ in items]
        everything += ratios
        worst, worst_cell = max(items, key=lambda item: item[0])
        where = ", ".join(f"{k}={v}" for k, v in worst_cell.params.items())
        print(
            f"{benchmark:58} {len(items):5d} {_pct(statistics.median(ratios)):>8} {_pct(worst):>8}  {where}"
        )
    if everything:
        print(
            f"{'all benchmarks':58} {len(everything):5d} {_pct(statistics.median(everything)):>8} {_pct(max(everything)):>8}"
        )


def _pct(log_ratio: float) -> str:
    return f"{100 * log_ratio:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path, help="asv results file or directory of the first run")
    parser.add_argument("run_b", type=Path, help="the same for the second run")
    args = parser.parse_args(argv)
    spread = log_ratios(load_cells(args.run_a), load_cells(args.run_b))
    if not spread:
        raise SystemExit("the two runs share no measured cell")
    print_table("all cells: |log(b/a)| per benchmark", spread)
    large = {name: [item for item in items if is_large(item[1])] for name, items in spread.items()}
    print_table(f"cells of size >= {LARGE_SIZE:_}", {k: v for k, v in large.items() if v})
    return 0


if __name__ == "__main__":
    sys.exit(main())
