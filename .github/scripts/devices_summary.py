#!/usr/bin/env python3
"""Print a markdown table of the devices each results file was measured with, from its context.

The benchmarks job appends it to the job summary, so that a macOS runner without MPS or a
GPU runner without a visible GPU says so next to its results. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONTEXT_DIR_NAME = "sqrtwatch-context"  # sqrtwatch.context.CONTEXT_DIR_NAME


def accelerators(context: dict) -> str:
    """What beyond the CPU this environment could use, in words."""
    found = []
    if context.get("cuda_available"):
        found.append("CUDA: " + ", ".join(context.get("cuda_devices") or ["?"]))
    if context.get("mps_available"):
        found.append(f"MPS: {context.get('mps_device') or 'yes'}")
    if not found:
        if context.get("build_variant") == "mps":
            return "none (MPS built but not exposed by this runner: CPU only)"
        return "none: CPU only"
    return "; ".join(found)


def summary(results_dir: Path) -> str:
    """The markdown table for every context file under ``results_dir``."""
    rows = ["| results file | torch | build | CPU ISA | accelerators |", "|---|---|---|---|---|"]
    paths = sorted((results_dir / CONTEXT_DIR_NAME).glob("*/*.json"))
    for path in paths:
        try:
            context = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{path}: unreadable context file: {exc}") from exc
        rows.append(
            f"| {path.parent.name}/{path.stem} | {context.get('torch_version')} | {context.get('build_variant')} "
            f"| {context.get('cpu_isa')} | {accelerators(context)} |"
        )
    if not paths:
        raise SystemExit(f"{results_dir}: no {CONTEXT_DIR_NAME} files")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: devices_summary.py RESULTS_DIR")
    sys.stdout.write(summary(Path(sys.argv[1])))
