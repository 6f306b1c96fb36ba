"""The README's throughput table: sqrt GB/s vs copy GB/s per dtype, from one asv results run.

Reads ``bench_throughput.Bandwidth`` (track_gbps and track_roofline_fraction) on the CPU at
10_000_000 elements and prints a Markdown table. The copy bandwidth is the same-run copy
of the same bytes: sqrt GB/s / fraction of roofline.

    sqrtwatch run --results /tmp/full --bench 'Bandwidth'
    python scripts/throughput_table.py /tmp/full
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stability import load_cells

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
GBPS = "bench_throughput.Bandwidth.track_gbps"
ROOFLINE = "bench_throughput.Bandwidth.track_roofline_fraction"


def bandwidth_rows(
    cells: dict, size: int = 10_000_000, device: str = "cpu"
) -> list[tuple[str, float, float, float]]:
    """(dtype, sqrt GB/s with out=, copy GB/s, sqrt GB/s allocating) for every dtype measured."""
    values = {}
    for (benchmark, _), cell in cells.items():
        p = cell.params
        if benchmark in (GBPS, ROOFLINE) and p.get("device") == repr(device) and p.get("size") == str(size):
            values[(benchmark, p["dtype"].strip("'"), p["variant"].strip("'"))] = cell.value
    rows = []
    for dtype in DTYPES:
        out = values.get((GBPS, dtype, "out"))
        fraction = values.get((ROOFLINE, dtype, "out"))
        if out is None or fraction is None:
            continue
        rows.append((dtype, out, out / fraction, values.get((GBPS, dtype, "allocating"), float("nan"))))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="asv results file or directory")
    args = parser.parse_args(argv)
    rows = bandwidth_rows(load_cells(args.results))
    if not rows:
        raise SystemExit(f"{args.results}: no Bandwidth cells at 10_000_000 elements on the CPU")
    print("| dtype | sqrt GB/s (`out=`) | copy GB/s | fraction of roofline | sqrt GB/s (allocating) |")
    print("|---|---:|---:|---:|---:|")
    for dtype, out, copy, allocating in rows:
        print(f"| {dtype} | {out:.2f} | {copy:.2f} | {out / copy:.2f} | {allocating:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
