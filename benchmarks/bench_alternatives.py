"""What users weigh instead of ``torch.sqrt``, timed on the same inputs (allocating, positive).

Implementations: the built-ins of :mod:`sqrtwatch.impls` (``torch.sqrt``, ``numpy``,
``torch.compile``, ``pow_half`` = ``x ** 0.5``, ``mul_rsqrt`` = ``x * torch.rsqrt(x)``),
``math.sqrt`` in a Python loop, and every user plug-in registered in ``SQRTWATCH_IMPLS``
(``name=module:function;...``), benchmarked by name.
"""

import functools
import importlib.util
import math
import os
import shutil

from . import common
from .common import DEVICES, DTYPES, SIZES, Timed

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch import impls
except ImportError:
    impls = None  # type: ignore[assignment]  # plain asv use: only the built-in implementations

BUILTIN_IMPLS = ["torch.sqrt", "numpy", "math.sqrt", "torch.compile", "pow_half", "mul_rsqrt"]
MATH_LOOP_MAX_SIZE = 1_000
# Inductor compiles every (dtype, size) anew, 3-20 s a cell on a 2-core machine: the two
# main floating types show what code generation buys without doubling the full profile.
COMPILED_DTYPES = ("float32", "float64")


# The environment, not the hardware, decides the plug-ins: the same configuration gives
# the same parameter list on every machine.
IMPLS = BUILTIN_IMPLS + common.plugin_names(BUILTIN_IMPLS)


def _python_floats_sqrt(values):
    return [math.sqrt(v) for v in values]


def inductor_missing(device: str) -> str | None:
    """Why ``torch.compile`` cannot generate code for ``device`` here, or None if it can."""
    if importlib.util.find_spec("torch._inductor") is None:
        return "this torch has no inductor"
    if device == "cpu" and not any(
        shutil.which(c) for c in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if c
    ):
        return "inductor needs a C++ compiler on the CPU"
    if device == "cuda" and importlib.util.find_spec("triton") is None:
        return "inductor needs triton on CUDA"
    return None


@functools.cache
def _prepared(impl: str, device: str, dtype: str, size: int):
    """The call timing ``impl`` on this cell, compiled and warmed up (once per process)."""
    common.require_device(device)
    common.require_size_on_device(size, device)
    common.require_dtype_on_device(dtype, device)
    x = common.input_tensor(dtype, size, "positive", device)
    if impl == "math.sqrt":
        if device != "cpu" or dtype != "float64" or size > MATH_LOOP_MAX_SIZE:
            raise NotImplementedError(
                "math.sqrt loops over Python floats (float64) on the CPU, sizes <= 1000"
            )
        values = x.tolist()
        return functools.partial(_python_floats_sqrt, values)
    if impls is None:
        raise NotImplementedError("sqrtwatch is not installed in this environment")
    if impl == "torch.compile":
        if dtype not in COMPILED_DTYPES:
            raise NotImplementedError(f"torch.compile runs in {' and '.join(COMPILED_DTYPES)} only")
        missing = inductor_missing(device)
        if missing:
            raise NotImplementedError(missing)
    fn = impls.load_impl(impl)
    fn(x)  # warm-up: compilation and first-call costs stay out of the timing
    common.synchronizer(device)()
    return functools.partial(fn, x)


class Alternatives(Timed):
    """Seconds per call of each implementation, allocating its result."""

    params = [IMPLS, DEVICES, DTYPES, SIZES]
    param_names = ["impl", "device", "dtype", "size"]
    # torch.compile stays out: compiling takes 3-20 s per cell on a 2-core machine.
    quick_grids: list[common.Grid] = [
        {
            "impl": {"torch.sqrt", "numpy", "math.sqrt", "pow_half", "mul_rsqrt"},
            "dtype": {"float64"},
            "size": {1_000, 100_000},
        }
    ]
    # Compilation happens in setup, inside asv's per-cell timeout.
    timeout = 600
    # Every round is a new process, and torch.compile compiles again in each one even with
    # inductor's cache warm: fewer, longer rounds than Timed's (docs/throughput.md has the cost).
    rounds = 4
    repeat = (3, 200, 0.25)
    version = "1"

    def setup(self, impl, device, dtype, size):
        common.require_profile(self.quick_grids, dict(impl=impl, device=device, dtype=dtype, size=size))
        self.call = _prepared(impl, device, dtype, size)
        self.sync = common.synchronizer(device)

    def time_sqrt(self, impl, device, dtype, size):
        self.call()
        self.sync()
