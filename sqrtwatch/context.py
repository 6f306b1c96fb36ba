"""What asv cannot record about a run: the torch build, devices, CPU ISA, math libraries.

Numerics of one torch version differ by CPU ISA and math-library path, so every
results file gets a context file beside it. Run as ``python -m sqrtwatch.context``
inside an environment, with the environment variables of its benchmark processes,
to print what those processes see as JSON (see docs/history.md for the fields).
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
CONTEXT_FORMAT_VERSION = 2
# Environment variables that change which code runs or how many threads it gets.
RECORDED_ENV_PREFIXES = ("OMP_", "MKL_", "KMP_", "GOMP_", "OPENBLAS_", "DNNL_", "ONEDNN_", "SQRTWATCH_")
RECORDED_ENV_NAMES = ("ATEN_CPU_CAPABILITY", "LD_PRELOAD", "CUDA_VISIBLE_DEVICES", "NPY_DISABLE_CPU_FEATURES")
# Set per run by sqrtwatch itself (a temporary folder, the database): not conditions of the run.
UNRECORDED_ENV_NAMES = ("SQRTWATCH_DETAIL_DIR", "SQRTWATCH_DB")
# The smallest float32 subnormal times a few: it survives arithmetic unless subnormals are flushed.
FLOAT32_SUBNORMAL = 1e-40


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
        "onednn": r"(?:oneDNN|MKL-DNN) v([\w.]+)",
        "openmp": r"OpenMP (\d+)",
        "lapack": r"LAPACK is enabled \(usually provided by ([^)]+)\)",
        "blas": r"BLAS_INFO=(\w+)",
    }
    for name, pattern in patterns.items():
        match = re.search(pattern, shown)
        if match:
            versions[name] = match.group(1)
    if torch.backends.cudnn.is_available():
        versions["cudnn"] = str(torch.backends.cudnn.version())
    return versions


def thread_pools() -> list[dict[str, Any]]:
    """The BLAS and OpenMP libraries loaded in this process, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("internal_api", "version", "num_threads", "threading_layer", "architecture")
    pools = [{key: info.get(key) for key in keep} for info in threadpool_info()]
    return sorted(pools, key=lambda pool: json.dumps(pool, sort_keys=True))


def subnormals_flushed(torch, numpy) -> dict[str, bool]:
    """Whether float32 subnormals come out of arithmetic as zero (FTZ/DAZ set in this process).

    A library built with ``-ffast-math``, or ``torch.set_flush_denormal(True)``, sets
    the CPU's flush modes for the whole process, so torch and NumPy are both checked.
    """
    tiny = torch.tensor(FLOAT32_SUBNORMAL, dtype=torch.float32)
    array = numpy.array([FLOAT32_SUBNORMAL], dtype=numpy.float32)
    return {
        "torch": bool((tiny * 1.0).item() == 0.0),
        "numpy": bool((array * numpy.float32(1.0))[0] == 0.0),
    }


def recorded_env() -> dict[str, str]:
    """The environment variables that can change what a benchmark process measures."""
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if (name.startswith(RECORDED_ENV_PREFIXES) or name in RECORDED_ENV_NAMES)
        and name not in UNRECORDED_ENV_NAMES
    }


def cpu_affinity() -> int | None:
    """How many cores this process may run on (what the suite's ``threads='all'`` uses)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity masks
        return os.cpu_count()


def suite_threads() -> int:
    """The intra-op threads of the suites' ``threads='all'`` cells (benchmarks/common.py, thread_count):
    every core this process may use, fewer where ``OMP_NUM_THREADS`` asks for fewer."""
    cores = cpu_affinity() or 1
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    requested = int(first) if first.isdigit() and int(first) > 0 else None
    return min(cores, requested) if requested else cores


def os_image() -> str:
    """The OS image: the CI runner image where it says so, else the distribution's name."""
    # GitHub's hosted runners name their image in these (mixed-case) variables.
    image, version = os.environ.get("ImageOS"), os.environ.get("ImageVersion")  # noqa: SIM112
    if image and version:
        return f"{image} {version}"
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text(errors="replace").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return platform.platform(terse=True)


def gpu_driver() -> str | None:
    """The NVIDIA or AMD kernel driver version, where the driver reports one."""
    for path, pattern in (
        ("/proc/driver/nvidia/version", r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)"),
        ("/sys/module/amdgpu/version", r"(\S+)"),
    ):
        try:
            match = re.search(pattern, Path(path).read_text(errors="replace"))
        except OSError:
            continue
        if match:
            return match.group(1)
    return None


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
        "cpu_affinity": cpu_affinity(),
        "cpu_isa": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
        "mkl_enable_instructions": os.environ.get("MKL_ENABLE_INSTRUCTIONS"),
        "mkl_available": torch.backends.mkl.is_available(),
        "math_libraries": _config_versions(torch),
        "thread_pools": thread_pools(),
        "numpy_version": numpy.__version__,
        "threads": suite_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "subnormals_flushed": subnormals_flushed(torch, numpy),
        "os_image": os_image(),
        "env": recorded_env(),
        "gpu_driver": gpu_driver(),
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
