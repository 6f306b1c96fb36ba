"""Square-root implementations measured and checked by sqrtwatch.

An implementation is a callable taking a tensor and returning its square root as a
new tensor. Built-ins are named (``torch.sqrt``, ``pow_half``...); user kernels are
given by import path ``module:function`` directly or registered for the asv suites
through the ``SQRTWATCH_IMPLS`` environment variable (``name=module:function``
entries separated by ``;``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily: the CLI starts without it.
    import torch

ImplFn = Callable[["torch.Tensor"], "torch.Tensor"]

ENV_VAR = "SQRTWATCH_IMPLS"


class ImplError(ValueError):
    """An implementation name or import path that cannot be used."""


def _torch_sqrt(x):
    import torch

    return torch.sqrt(x)


def _pow_half(x):
    return x**0.5


def _mul_rsqrt(x):
    import torch

    return x * torch.rsqrt(x)


@cache
def _compiled_sqrt():
    import torch

    return torch.compile(torch.sqrt, dynamic=False)


def _torch_compile(x):
    return _compiled_sqrt()(x)


def _numpy(x):
    import numpy as np
    import torch

    if x.device.type != "cpu":
        raise NotImplementedError("numpy runs on the CPU only")
    if x.dtype == torch.bfloat16:
        raise NotImplementedError("numpy has no bfloat16")
    with np.errstate(invalid="ignore"):  # sqrt of negatives is NaN by definition, not news
        return torch.from_numpy(np.sqrt(x.numpy()))


_BUILTIN_FUNCTIONS: dict[str, ImplFn] = {
    "torch.sqrt": _torch_sqrt,
    "pow_half": _pow_half,
    "mul_rsqrt": _mul_rsqrt,
    "torch.compile": _torch_compile,
    "numpy": _numpy,
}


def load_impl(spec: str) -> ImplFn:
    """Return the implementation named ``spec``: a built-in name or ``module:function``."""
    if spec in _BUILTIN_FUNCTIONS:
        return _BUILTIN_FUNCTIONS[spec]
    registered = registered_impls()
    if spec in registered:
        spec = registered[spec]
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(_BUILTIN_FUNCTIONS))
        raise ImplError(f"unknown implementation {spec!r}: use one of {known} or MODULE:FUNCTION")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImplError(f"cannot import module {module_name!r} for {spec!r}: {exc}") from exc
    except (Exception, SystemExit) as exc:  # the module's own code failed while importing
        raise ImplError(
            f"importing module {module_name!r} for {spec!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    fn = module
    for part in attr.split("."):
        try:
            fn = getattr(fn, part)
        except AttributeError as exc:
            raise ImplError(f"module {module_name!r} has no attribute {attr!r}") from exc
    if not callable(fn):
        raise ImplError(f"{spec!r} is not callable")
    return fn


def registered_impls() -> dict[str, str]:
    """User implementations from ``SQRTWATCH_IMPLS``, as ``{name: 'module:function'}``."""
    raw = os.environ.get(ENV_VAR, "").strip()
    impls: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        name, sep, path = entry.partition("=")
        if not sep or ":" not in path:
            raise ImplError(f"{ENV_VAR}: entry {entry!r} is not name=module:function")
        impls[name.strip()] = path.strip()
    return impls
