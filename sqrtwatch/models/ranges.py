"""The input magnitude at which each formula stops giving a usable result, found by bisection.

A formula *fails* at a magnitude when, on seeded inputs of that magnitude, any result is inf,
NaN or zero where the exact result is not, or is off by more than :data:`FAIL_RELATIVE`.
Magnitudes are powers of two, searched on a log2 scale to :data:`RESOLUTION`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import formulas
from .reference import error_summary

FAIL_RELATIVE = 1 / 16
RESOLUTION = 0.125
# cdist below 25 rows takes a direct kernel that has no float16 on the CPU; 32 rows take the
# matrix-product path that models hit.
RANGE_SHAPES = {"row": (4, 1024), "image": (2, 64, 4, 4), "cdist": (32, 64), "adam": (4096,)}


@dataclass(frozen=True)
class Range:
    """log2 of the smallest magnitude above 1 that fails (``overflow``) and of the largest below 1
    that fails (``underflow``); the dtype's own limit where the formula never fails."""

    overflow_log2: float
    underflow_log2: float


def _unit_inputs(op: str) -> list[np.ndarray]:
    """Seeded values with magnitudes in [0.5, 1) and random signs, in ``op``'s layout."""
    kind = formulas.kind_of(op)
    shape = RANGE_SHAPES[kind]
    arrays = []
    for stream in ["a", "b"] if kind == "cdist" else ["x"]:
        normal = formulas.seeded_normal(shape, "range", op, stream)
        arrays.append(np.sign(normal) * (0.5 + 0.5 * (np.abs(normal) % 1.0)))
    if kind == "adam":
        arrays = [np.zeros(shape), arrays[0]]
    return arrays


def fails(op: str, impl: str, dtype: str, log2_magnitude: float, device: str = "cpu") -> bool:
    """Whether ``op`` computed the ``impl`` way gives a bad result at inputs of magnitude 2**log2_magnitude."""
    torch_dtype = getattr(torch, dtype)
    fn = formulas.formula(op, impl)
    arrays = [a * 2.0**log2_magnitude for a in _unit_inputs(op)]
    inputs = [torch.from_numpy(a).to(device=device, dtype=torch_dtype) for a in arrays]
    rounded = [t.double().cpu().numpy() for t in inputs]
    with torch.no_grad():
        result = fn(*inputs).double().cpu().numpy()
    expected = formulas.reference(op, rounded)
    eps = torch.finfo(torch_dtype).eps
    summary = error_summary(result, expected, eps, formulas.error_floor(op, expected))
    return bool(summary.inf or summary.nan or summary.zero or summary.max_eps * eps > FAIL_RELATIVE)


def _boundary(failing, passing: float, failing_at: float) -> float:
    """Bisect between a passing and a failing log2 magnitude; return the failing side."""
    while abs(failing_at - passing) > RESOLUTION:
        middle = (passing + failing_at) / 2
        if failing(middle):
            failing_at = middle
        else:
            passing = middle
    return failing_at


def dtype_limits(dtype: str) -> tuple[float, float]:
    """log2 of the largest finite value and of the smallest subnormal of ``dtype``."""
    info = torch.finfo(getattr(torch, dtype))
    return math.log2(info.max), math.log2(info.smallest_normal * info.eps)


def find_range(op: str, impl: str, dtype: str, device: str = "cpu") -> Range:
    """The overflow and underflow magnitudes of ``op`` (``impl`` way) in ``dtype``.

    Both searches start from magnitude 1 (2**0), where every formula here works; if it fails
    there, both boundaries are 0.
    """
    largest, smallest = dtype_limits(dtype)

    def failing(log2_magnitude: float) -> bool:
        return fails(op, impl, dtype, log2_magnitude, device)

    if failing(0.0):
        return Range(0.0, 0.0)
    top = largest - 1e-9  # seeded magnitudes are < 1, so inputs stay finite
    overflow = _boundary(failing, 0.0, top) if failing(top) else largest
    underflow = _boundary(failing, 0.0, smallest) if failing(smallest) else smallest
    return Range(round(overflow, 3), round(underflow, 3))
