"""The throughput grid, the profiles, devices and the seeded input builders every suite shares.

Parameter lists are static plain values: they never depend on the installed torch or the
hardware, so results from every machine and torch version line up cell by cell. A cell that
cannot run here (absent device, unsupported dtype, outside the active profile) raises
``NotImplementedError`` from ``setup``, which asv records as skipped.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

try:  # import-safe: asv must be able to discover the suite even where torch is broken
    import torch
except ImportError:  # pragma: no cover - torch is a hard dependency of the project
    torch = None  # type: ignore[assignment]  # only where asv lists the suite without torch

DEVICES = ["cpu", "cuda", "mps"]
REAL_DTYPES = ["float16", "bfloat16", "float32", "float64"]
DTYPES = [*REAL_DTYPES, "complex64", "complex128"]
# 100_000 elements stay cache-resident, 10_000_000 are memory-bound; 100_000_000 is GPU-only.
SIZES = [1, 1_000, 100_000, 10_000_000, 100_000_000]
GPU_ONLY_SIZES = {100_000_000}
VARIANTS = ["allocating", "out", "inplace", "strided"]
THREADS = ["1", "all"]
DOMAINS = ["positive", "negative_0.1pct", "negative_50pct", "subnormal"]

NEGATIVE_FRACTION = {"positive": 0.0, "negative_0.1pct": 0.001, "negative_50pct": 0.5, "subnormal": 0.0}

PROFILE_ENV_VAR = "SQRTWATCH_PROFILE"  # set by ``sqrtwatch run`` (see sqrtwatch/runner.py)
PROFILES = ("quick", "full")
IMPLS_ENV_VAR = "SQRTWATCH_IMPLS"  # user plug-ins, ``name=module:function;...`` (sqrtwatch/impls.py)

Grid = Mapping[str, Collection]
F = TypeVar("F", bound=Callable[..., Any])


def active_profile() -> str:
    """The profile asked for through ``SQRTWATCH_PROFILE``: ``quick`` or ``full`` (default)."""
    profile = os.environ.get(PROFILE_ENV_VAR, "full").strip() or "full"
    if profile not in PROFILES:
        raise ValueError(f"{PROFILE_ENV_VAR}={profile!r}: expected one of {', '.join(PROFILES)}")
    return profile


def plugin_names(builtins: Sequence[str], raw: str | None = None) -> list[str]:
    """Names registered in ``SQRTWATCH_IMPLS`` (or ``raw``), in order, minus ``builtins`` and repeats.

    Lenient on purpose: a suite's import must never raise, so a malformed entry still names a
    parameter, and its cells fail in ``setup`` with ``sqrtwatch.impls``' strict error message.
    """
    if raw is None:
        raw = os.environ.get(IMPLS_ENV_VAR, "")
    names: list[str] = []
    for entry in raw.split(";"):
        name = entry.partition("=")[0].strip()
        if name and name not in builtins and name not in names:
            names.append(name)
    return names


def in_grid(grid: Grid, cell: Mapping[str, object]) -> bool:
    """Whether every parameter of ``cell`` that ``grid`` constrains takes one of its values."""
    return all(cell[name] in allowed for name, allowed in grid.items() if name in cell)


def unit(name: str) -> Callable[[F], F]:
    """Declare the unit asv stores for a ``track_*`` benchmark (its ``unit`` attribute)."""

    def declare(benchmark: F) -> F:
        setattr(benchmark, "unit", name)  # noqa: B010 (a function attribute mypy cannot see)
        return benchmark

    return declare


def require_profile(quick_grids: Sequence[Grid], cell: Mapping[str, object]) -> None:
    """Skip ``cell`` when the quick profile is active and the cell is in none of ``quick_grids``."""
    if active_profile() == "quick" and not any(in_grid(grid, cell) for grid in quick_grids):
        raise NotImplementedError("outside the quick profile")


def require_device(device: str) -> None:
    """Skip unless ``device`` is present and usable by this torch."""
    reason = device_unusable(device)
    if reason is not None:
        raise NotImplementedError(reason)


@functools.cache
def device_unusable(device: str) -> str | None:
    """Why ``device`` cannot compute here, or None if it can (probed once per process)."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {', '.join(DEVICES)}")
    if torch is None:
        return "torch is not importable in this environment"
    if device == "cpu":
        return None
    if device == "cuda":
        return probe_device("cuda", torch.cuda.is_available, torch.cuda.synchronize)
    mps = getattr(torch.backends, "mps", None)
    if mps is None:
        return "no MPS device"
    return probe_device("mps", mps.is_available, torch.mps.synchronize)


def probe_device(device: str, available: Callable[[], bool], synchronize: Callable[[], None]) -> str | None:
    """Why ``device`` is unusable, or None: a real allocation, a sqrt and a synchronize.

    torch may report a device available that cannot allocate: hosted macOS VMs expose no
    Metal device to MPS (GitHub's runner docs), and a GPU can be present but busy or broken.
    """
    if not available():
        return f"no {device.upper()} device"
    try:
        x = torch.ones(1024, device=device)
        torch.sqrt(x).sum().item()
        synchronize()
    except Exception as exc:  # whatever the backend raises, the device is unusable
        return f"{device} reported available but unusable: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


def require_size_on_device(size: int, device: str) -> None:
    """Skip GPU-only sizes on the CPU."""
    if device == "cpu" and size in GPU_ONLY_SIZES:
        raise NotImplementedError(f"size {size} runs on GPUs only")


# Dtypes that MPS cannot hold at all; others are probed by running sqrt once.
MPS_UNSUPPORTED_DTYPES = {"float64", "complex128"}


def require_dtype_on_device(dtype: str, device: str) -> None:
    """Skip dtypes the device cannot compute sqrt in (MPS has no float64 / complex128)."""
    if device == "mps" and dtype in MPS_UNSUPPORTED_DTYPES:
        raise NotImplementedError(f"MPS has no {dtype}")
    if device == "mps":
        try:
            torch.sqrt(torch.ones(2, dtype=torch_dtype(dtype), device="mps"))
        except (RuntimeError, TypeError) as exc:
            raise NotImplementedError(f"sqrt in {dtype} unsupported on MPS: {exc}") from exc


def require_threads(threads: str, device: str) -> None:
    """Skip thread counts on devices they do not apply to; apply the count on the CPU."""
    if threads not in THREADS:
        raise ValueError(f"unknown threads {threads!r}: expected one of {', '.join(THREADS)}")
    if device != "cpu":
        if threads != "all":
            raise NotImplementedError("the CPU thread count applies to CPU cells only")
        return
    torch.set_num_threads(thread_count(threads))


def thread_count(threads: str) -> int:
    """Number of intra-op threads for a ``threads`` value: 1, or every core this process may use,
    fewer where ``OMP_NUM_THREADS`` asks for fewer (torch honours it; so do the suites).

    sqrtwatch's context records the same number (``threads``, sqrtwatch/context.py).
    """
    if threads == "1":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity masks
        cores = os.cpu_count() or 1
    requested = omp_num_threads()
    return min(cores, requested) if requested else cores


def omp_num_threads() -> int | None:
    """The thread count ``OMP_NUM_THREADS`` asks for (its first level), None when unset or invalid."""
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def torch_dtype(name: str):
    """The torch dtype called ``name`` (one of :data:`DTYPES`)."""
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}: expected one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def synchronizer(device: str) -> Callable[[], None]:
    """A function that waits for queued work on ``device``; GPU timings call it per timed block."""
    if device == "cuda":
        return torch.cuda.synchronize
    if device == "mps":
        return torch.mps.synchronize
    return _no_wait


def _no_wait() -> None:
    """CPU kernels run synchronously: nothing to wait for."""


def seed_for(*key: object) -> int:
    """A seed that depends only on ``key``, stable across processes and Python versions."""
    return zlib.crc32(repr(key).encode())


def domain_values(domain: str, size: int, dtype: str, stream: str = "real"):
    """``size`` float64 NumPy values of ``domain``, seeded by (domain, size, dtype, stream).

    positive: log-uniform in [2**-10, 2**10] (normal in every dtype); negative_*: the same
    with that fraction of elements (rounded down) negated at seeded positions; subnormal:
    uniform over the subnormal range of ``dtype``.
    """
    import numpy as np

    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}: expected one of {', '.join(DOMAINS)}")
    rng = np.random.default_rng(seed_for(domain, size, dtype, stream))
    if domain == "subnormal":
        info = torch.finfo(torch_dtype(dtype))
        # Subnormals of ``dtype`` lie between tiny * eps and tiny * (1 - eps): bounds a few
        # spacings inside keep every value from rounding to zero or up to ``tiny``.
        tiny, eps = float(info.tiny), float(info.eps)
        return rng.uniform(tiny * eps * 4, tiny * (1 - 4 * eps), size)
    values = np.exp2(rng.uniform(-10.0, 10.0, size))
    negatives = int(size * NEGATIVE_FRACTION[domain])
    if negatives:
        values[rng.choice(size, negatives, replace=False)] *= -1.0
    return values


@functools.cache
def contiguous_input(dtype: str, size: int, domain: str, device: str):
    """A seeded tensor of ``size`` elements of ``domain``, identical across runs (cached)."""
    real = torch.from_numpy(domain_values(domain, size, dtype, "real"))
    if dtype.startswith("complex"):
        imag = torch.from_numpy(domain_values(domain, size, dtype, "imag")).abs()
        values = torch.complex(real, imag)
    else:
        values = real
    return values.to(device=device, dtype=torch_dtype(dtype))


def input_tensor(dtype: str, size: int, domain: str, device: str, strided: bool = False):
    """The input of a cell: ``size`` elements, or every other element of ``2 * size`` if strided."""
    if strided:
        return contiguous_input(dtype, 2 * size, domain, device)[::2]
    return contiguous_input(dtype, size, domain, device)


class Timed:
    """asv timing attributes shared by the ``time_*`` classes.

    ``number = 1`` with a ``setup`` means asv runs ``setup`` (untimed) before every timed
    call: that is how the in-place variant gets a fresh copy each call, and it treats all
    variants alike. (asv forces one call per sample anyway for any class with a ``setup``.)

    Samples come from several short rounds, each a separate process at a different moment
    of the run, so that no cell is left with the drift of one moment (the run-to-run spread
    of each setting is in docs/throughput.md, "Measurement method").
    """

    number = 1
    repeat = (3, 200, 0.125)  # min samples, max samples, seconds per round
    rounds = 8
    warmup_time = 0.05
    timeout = 180


class SqrtCell:
    """The tensors and calls of one (device, dtype, size, variant, domain) cell, built once.

    ``call`` runs the variant; ``prepare`` (in-place only) restores a fresh copy of the input
    and must run, untimed, before every call; ``copy`` is the plain copy of the same bytes
    that the roofline compares against.
    """

    def __init__(self, device: str, dtype: str, size: int, variant: str, domain: str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.x = input_tensor(dtype, size, domain, device, strided=variant == "strided")
        # Output buffers are allocated once so that page faults stay out of the timings.
        self.buffer = torch.empty_like(self.x, memory_format=torch.contiguous_format)
        self.prepare: Callable[[], object] | None = None
        if variant == "inplace":
            self.prepare = self.copy

    def call(self):
        """One square root, the way this variant does it."""
        if self.variant == "out":
            return torch.sqrt(self.x, out=self.buffer)
        if self.variant == "inplace":
            return self.buffer.sqrt_()
        return torch.sqrt(self.x)

    def copy(self):
        """A plain copy of the bytes the square root reads and writes."""
        return self.buffer.copy_(self.x)


@functools.cache
def sqrt_cell(
    device: str, dtype: str, size: int, variant: str, domain: str, threads: str = "all"
) -> SqrtCell:
    """The cell for these parameters, after skipping it where it cannot run (cached per process).

    asv re-runs ``setup`` before every timed call, so everything costly happens here, once.
    """
    require_device(device)
    require_size_on_device(size, device)
    require_dtype_on_device(dtype, device)
    require_threads(threads, device)
    cell = SqrtCell(device, dtype, size, variant, domain)
    synchronizer(device)()
    return cell


def release_cells() -> None:
    """Drop the cached cells and inputs (a process that walks a whole grid calls it per cell)."""
    sqrt_cell.cache_clear()
    contiguous_input.cache_clear()
