"""Print the composite-op accuracy and range tables of docs/models.md (markdown), on the CPU.

Accuracy: max error in eps of the output dtype per (op, impl, dtype) and input case, with
inf/NaN/zero counts where there are any. Range: log2 input magnitude of the first overflow /
underflow per (op, impl, dtype). Usage: python scripts/models_tables.py [--dtype D]...
"""

from __future__ import annotations

import argparse

import torch

from sqrtwatch.models import formulas, ranges

DTYPES = ["float16", "bfloat16", "float32", "float64"]


def _cell(summary) -> str:
    text = f"{summary.max_eps:.3g}"
    counts = [
        f"{n} {name}" for name, n in (("inf", summary.inf), ("NaN", summary.nan), ("zero", summary.zero)) if n
    ]
    return text + (f" ({', '.join(counts)})" if counts else "")


def pairs():
    for op in formulas.OPS:
        for impl in formulas.IMPLS:
            try:
                formulas.formula(op, impl)
            except NotImplementedError:
                continue
            yield op, impl


def accuracy_table(dtypes: list[str]) -> None:
    print("| op | impl | dtype | " + " | ".join(formulas.CASES) + " |")
    print("|---" * (3 + len(formulas.CASES)) + "|")
    for op, impl in pairs():
        for dtype in dtypes:
            cells = []
            for case in formulas.CASES:
                try:
                    cells.append(_cell(formulas.measure(op, impl, case, dtype)))
                except NotImplementedError:
                    cells.append("-")
                except RuntimeError as exc:
                    cells.append(f"unsupported ({str(exc).splitlines()[0][:30]})")
            print(f"| {op} | {impl} | {dtype} | " + " | ".join(cells) + " |")


def range_table(dtypes: list[str]) -> None:
    limits = {dtype: ranges.dtype_limits(dtype) for dtype in dtypes}
    print("| op | impl | " + " | ".join(f"{d} overflow / underflow" for d in dtypes) + " |")
    print("|---" * (2 + len(dtypes)) + "|")
    print(
        "| (dtype's own limits) | | "
        + " | ".join(f"{hi:.1f} / {lo:.1f}" for hi, lo in limits.values())
        + " |"
    )
    for op, impl in pairs():
        cells = []
        for dtype in dtypes:
            try:
                found = ranges.find_range(op, impl, dtype)
                cells.append(f"{found.overflow_log2:.3g} / {found.underflow_log2:.4g}")
            except RuntimeError:
                cells.append("unsupported")
        print(f"| {op} | {impl} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", action="append", choices=DTYPES, help="repeatable; default: all")
    args = parser.parse_args()
    dtypes = args.dtype or DTYPES
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    accuracy_table(dtypes)
    print()
    range_table(dtypes)


if __name__ == "__main__":
    main()
