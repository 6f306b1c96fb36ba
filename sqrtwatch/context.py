"""What asv cannot record about a run: the torch build, devices, CPU ISA, math libraries.

Numerics of one torch version differ by CPU ISA and math-library path, so every
results file gets a context file beside it. Run as ``python -m sqrtwatch.context``
inside an environment to print that environment's context as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

CONTEXT_DIR_NAME = "sqrtwatch-context"
CONTEXT_FORMAT_VERSION = 1


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if sys.platform == "darwin":
        import subprocess

        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine()


def build_variant(torch) -> str:
    """``cpu``, ``cuXXX``, ``rocmX.Y`` or ``mps``, as the torch wheel was built."""
    if getattr(torch.version, "hip", None):
        return f"rocm{torch.version.hip.split('-')[0]}"
    if torch.version.cuda:
        return "cu" + torch.version.cuda.replace(".", "")
    if sys.platform == "darwin" and torch.backends.mps.is_built():
        return "mps"
    return "cpu"


def _config_versions(torch) -> dict[str, str]:
    """Math-library versions as torch reports them in ``torch.__config__.show()``."""
    shown = torch.__config__.show()
    versions = {}
    patterns = {
        "mkl": r"Intel\(R\) (?:oneAPI )?Math Kernel Library Version ([\w.]+)",
        "onednn": r"oneDNN v([\w.]+)",
        "openmp": r"OpenMP (\d+)",
        "lapack": r"LAPACK is enabled \(usually provided by ([^)]+)\)",
    }
    for name, pattern in patterns.items():
        match = re.search(pattern, shown)
        if match:
            versions[name] = match.group(1)
    return versions


def devices(torch) -> dict[str, Any]:
    """Accelerators this torch can use, with their names."""
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return {
        "cuda_available": cuda_ok,
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if cuda_ok
        else [],
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda_ok else None,
        "mps_available": mps_ok,
        "mps_device": platform.machine() if mps_ok else None,
    }


def collect_context() -> dict[str, Any]:
    """The context of this Python environment and machine, as plain JSON data."""
    import numpy
    import torch

    return {
        "format_version": CONTEXT_FORMAT_VERSION,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch_version": torch.__version__,
        "torch_git_hash": getattr(torch.version, "git_version", None),
        "build_variant": build_variant(torch),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_isa": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
        "mkl_available": torch.backends.mkl.is_available(),
        "math_libraries": _config_versions(torch),
        "numpy_version": numpy.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        **devices(torch),
    }


def context_path(results_dir: Path, machine: str, results_file_stem: str) -> Path:
    """Where the context of ``results_dir/machine/<stem>.json`` lives.

    The context tree sits inside the results directory in a folder without a
    ``machine.json``, which asv skips, so ``asv publish`` still works.
    """
    return results_dir / CONTEXT_DIR_NAME / machine / f"{results_file_stem}.json"


def write_context(path: Path, context: dict[str, Any]) -> None:
    """Write ``context`` atomically (no half-written file on interruption)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(context, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    json.dump(collect_context(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
