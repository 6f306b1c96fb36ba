"""Composite ops that compute a square root inside, beside hand-written formulas of the same thing.

Each op has a ``library`` implementation (the torch function a model calls) and, for some,
a ``handwritten`` one (the formula people write instead). Both take the same tensors and
return a tensor of the input's dtype, so speed and accuracy compare like for like.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import reference as ref

OPS = [
    "vector_norm",
    "std",
    "layer_norm",
    "rms_norm",
    "batch_norm",
    "group_norm",
    "normalize",
    "cdist",
    "adam",
]
IMPLS = ["library", "handwritten"]
# The eps each op is called with (torch's defaults, rms_norm's as LLaMA-style models set it).
EPS = {
    "layer_norm": 1e-5,
    "rms_norm": 1e-6,
    "batch_norm": 1e-5,
    "group_norm": 1e-5,
    "normalize": 1e-12,
    "adam": 1e-8,
}
GROUPS = 32
ADAM = ref.AdamConfig()

Fn = Callable[..., torch.Tensor]


def _rms_norm_library(x: torch.Tensor) -> torch.Tensor:
    return F.rms_norm(x, (x.shape[-1],), eps=EPS["rms_norm"])


def _adam_library(param: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The parameter after one ``torch.optim.Adam`` step (for-loop form) from fresh state."""
    p = param.clone()
    p.grad = grad
    optimizer = torch.optim.Adam([p], lr=ADAM.lr, betas=(ADAM.beta1, ADAM.beta2), eps=ADAM.eps, foreach=False)
    optimizer.step()
    return p


def _adam_handwritten(param: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Adam's first step written out: denominator ``exp_avg_sq.sqrt() / sqrt(bias_correction2) + eps``."""
    exp_avg = grad * (1 - ADAM.beta1)
    exp_avg_sq = grad * grad * (1 - ADAM.beta2)
    denom = exp_avg_sq.sqrt() / math.sqrt(1 - ADAM.beta2) + ADAM.eps
    return param - ADAM.lr / (1 - ADAM.beta1) * exp_avg / denom


LIBRARY: dict[str, Fn] = {
    "vector_norm": lambda x: torch.linalg.vector_norm(x, dim=-1),
    "std": lambda x: torch.std(x, dim=-1, correction=0),
    "layer_norm": lambda x: F.layer_norm(x, (x.shape[-1],), eps=EPS["layer_norm"]),
    "rms_norm": _rms_norm_library,
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True, eps=EPS["batch_norm"]),
    "group_norm": lambda x: F.group_norm(x, GROUPS, eps=EPS["group_norm"]),
    "normalize": lambda x: F.normalize(x, dim=-1, eps=EPS["normalize"]),
    "cdist": lambda a, b: torch.cdist(a, b),
    "adam": _adam_library,
}

HANDWRITTEN: dict[str, Fn] = {
    "vector_norm": lambda x: x.pow(2).sum(-1).sqrt(),
    "std": lambda x: (x.pow(2).mean(-1) - x.mean(-1).pow(2)).sqrt(),
    "layer_norm": lambda x: (
        (x - x.mean(-1, keepdim=True))
        * torch.rsqrt(x.var(-1, keepdim=True, correction=0) + EPS["layer_norm"])
    ),
    "rms_norm": lambda x: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS["rms_norm"]),
    "adam": _adam_handwritten,
}

HANDWRITTEN_TEXT = {
    "vector_norm": "x.pow(2).sum(-1).sqrt()",
    "std": "(x.pow(2).mean(-1) - x.mean(-1).pow(2)).sqrt()",
    "layer_norm": "(x - x.mean(-1, keepdim=True)) * torch.rsqrt(x.var(-1, keepdim=True, correction=0) + eps)",
    "rms_norm": "x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)",
    "adam": "exp_avg_sq.sqrt() / math.sqrt(bias_correction2) + eps (Adam's first step)",
}


def formula_names(ops: Sequence[str]) -> list[str]:
    """Each op of ``ops`` that has a formula, by library (``op``) then by hand (``op:handwritten``)."""
    tables = {"library": LIBRARY, "handwritten": HANDWRITTEN}
    return [op if impl == "library" else f"{op}:{impl}" for op in ops for impl in IMPLS if op in tables[impl]]


def split_name(name: str) -> tuple[str, str]:
    """``"rms_norm:handwritten"`` -> ``("rms_norm", "handwritten")``; a bare op is the library's."""
    op, _, impl = name.partition(":")
    return op, impl or "library"


def formula(op: str, impl: str) -> Fn:
    """The function computing ``op`` the ``impl`` way; ``NotImplementedError`` where there is none here."""
    if op not in OPS or impl not in IMPLS:
        raise ValueError(f"unknown op {op!r} or impl {impl!r}")
    table = LIBRARY if impl == "library" else HANDWRITTEN
    if op not in table:
        raise NotImplementedError(f"no {impl} formula for {op}")
    if op == "rms_norm" and impl == "library" and not hasattr(F, "rms_norm"):
        raise NotImplementedError("this torch has no F.rms_norm")
    return table[op]


def reference(op: str, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The exact-as-cheap result of ``op`` on ``arrays`` (``longdouble``, see :mod:`.reference`)."""
    wide = [ref.wide(a) for a in arrays]
    if op == "vector_norm":
        return ref.norm2(wide[0])
    if op == "std":
        return ref.std_population(wide[0])
    if op == "layer_norm":
        return ref.layer_norm(wide[0], EPS[op])
    if op == "rms_norm":
        return ref.rms_norm(wide[0], EPS[op])
    if op == "batch_norm":
        return ref.batch_norm_train(wide[0], EPS[op])
    if op == "group_norm":
        return ref.group_norm(wide[0], GROUPS, EPS[op])
    if op == "normalize":
        return ref.normalize(wide[0], EPS[op])
    if op == "cdist":
        return ref.cdist(wide[0], wide[1])
    if op == "adam":
        return ref.adam_first_step(wide[0], wide[1], ADAM)
    raise ValueError(f"unknown op {op!r}")


# Ops whose outputs are centred on zero: their error is measured against the output's RMS
# where an element is smaller (see ``reference.error_summary``).
CENTRED_OPS = {"layer_norm", "batch_norm", "group_norm"}


def error_floor(op: str, expected: np.ndarray) -> float:
    """The ``floor`` of ``error_summary`` for ``op``: the reference's RMS for centred outputs, else 0."""
    return ref.rms(expected) if op in CENTRED_OPS else 0.0


def measure(op: str, impl: str, case: str, dtype: str, device: str = "cpu") -> ref.ErrorSummary:
    """The error summary of one accuracy cell: ``op`` the ``impl`` way on the inputs of ``case``."""
    fn = formula(op, impl)
    inputs = accuracy_inputs(op, case, dtype, device)
    with torch.no_grad():
        result = fn(*inputs)
    arrays = [t.double().cpu().numpy() for t in inputs]
    expected = reference(op, arrays)
    eps = torch.finfo(getattr(torch, dtype)).eps
    return ref.error_summary(result.double().cpu().numpy(), expected, eps, error_floor(op, expected))


# ----- inputs -------------------------------------------------------------------------------

CASES = ["random", "large_mean", "near_overflow", "near_underflow", "eps_dominated", "zeros"]
ACCURACY_SHAPES = {"row": (64, 1024), "image": (8, 64, 4, 4), "cdist": (64, 64), "adam": (65536,)}
IMAGE_OPS = {"batch_norm", "group_norm"}


def kind_of(op: str) -> str:
    """Which input layout ``op`` takes: row (tokens x hidden), image (N, C, H, W), cdist or adam."""
    if op in IMAGE_OPS:
        return "image"
    if op in ("cdist", "adam"):
        return op
    return "row"


def case_scale(case: str, dtype: torch.dtype, op: str) -> tuple[float, float]:
    """``(offset, spread)`` of the inputs of ``case``: values are ``offset + spread * N(0, 1)``.

    large_mean puts the mean 2 / sqrt(eps) spreads away, so mean(x^2) - mean(x)^2 cancels every
    bit; near_overflow / near_underflow put x^2 past the dtype's largest value / below its
    smallest subnormal's square root; eps_dominated makes the variance ~1/256 of the op's eps.
    """
    info = torch.finfo(dtype)
    if case == "random":
        return 0.0, 1.0
    if case == "large_mean":
        return 2.0 / math.sqrt(info.eps), 1.0
    if case == "near_overflow":
        return 0.0, 2.0 ** (math.floor(math.log2(info.max) / 2) + 2)
    if case == "near_underflow":
        smallest = info.smallest_normal * info.eps  # the smallest subnormal
        return 0.0, 2.0 ** (math.floor(math.log2(smallest) / 2) + 2)
    if case == "eps_dominated":
        if op not in EPS:
            raise NotImplementedError(f"{op} has no eps")
        return 0.0, math.sqrt(EPS[op]) / 16
    if case == "zeros":
        return 0.0, 0.0
    raise ValueError(f"unknown case {case!r}: expected one of {', '.join(CASES)}")


def seeded_normal(shape: Sequence[int], *key: object) -> np.ndarray:
    """Standard normal float64 values of ``shape``, seeded by ``key`` (stable across processes)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode())).standard_normal(tuple(shape))


def accuracy_inputs(op: str, case: str, dtype: str, device: str = "cpu") -> list[torch.Tensor]:
    """The seeded inputs of one accuracy cell, rounded to ``dtype`` (Adam: a zero parameter and a gradient)."""
    torch_dtype = getattr(torch, dtype)
    offset, spread = case_scale(case, torch_dtype, op)
    kind = kind_of(op)
    shape = ACCURACY_SHAPES[kind]
    streams = ["a", "b"] if kind == "cdist" else ["x"]
    tensors = [
        torch.from_numpy(offset + spread * seeded_normal(shape, "models", case, dtype, stream))
        for stream in streams
    ]
    if kind == "adam":
        tensors = [torch.zeros(shape, dtype=torch.float64), tensors[0]]
    return [t.to(device=device, dtype=torch_dtype) for t in tensors]
