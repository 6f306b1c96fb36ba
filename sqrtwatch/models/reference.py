"""Reference results and error arithmetic for the composite-op accuracy benchmarks (NumPy only).

References are computed in ``numpy.longdouble`` on the exact input values: on x86-64 that is
the 80-bit format (64-bit significand, 15-bit exponent), so a float64 input's square sums
neither overflow nor underflow and the reference carries 11 more bits than float64. Where
``longdouble`` is plain float64 (ARM, Windows) the float64 cells near its range are unreliable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WIDE = np.longdouble


def wide(values) -> np.ndarray:
    """``values`` as an exact ``longdouble`` array (every float16/32/64 value is representable)."""
    return np.asarray(values, dtype=np.float64).astype(WIDE)


def norm2(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Euclidean norm along ``axis``."""
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def std_population(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Standard deviation with divisor n (two-pass, no cancellation)."""
    centred = x - x.mean(axis=axis, keepdims=True)
    return np.sqrt(np.mean(centred * centred, axis=axis))


def layer_norm(x: np.ndarray, eps: float, axes: tuple[int, ...] = (-1,)) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, variance with divisor n, no affine."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=axes, keepdims=True)
    return centred / np.sqrt(var + WIDE(eps))


def rms_norm(x: np.ndarray, eps: float) -> np.ndarray:
    """``x / sqrt(mean(x**2) + eps)`` over the last axis, no weight."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + WIDE(eps))


def batch_norm_train(x: np.ndarray, eps: float) -> np.ndarray:
    """Training-mode batch norm of an (N, C, ...) array: per channel over every other axis."""
    axes = (0, *range(2, x.ndim))
    return layer_norm(x, eps, axes)


def group_norm(x: np.ndarray, groups: int, eps: float) -> np.ndarray:
    """Group norm of an (N, C, ...) array: C split into ``groups``, each normalised on its own."""
    grouped = x.reshape(x.shape[0], groups, -1)
    return layer_norm(grouped, eps, (-1,)).reshape(x.shape)


def normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """``x / max(||x||, eps)`` along the last axis (``F.normalize``)."""
    return x / np.maximum(norm2(x, keepdims=True), WIDE(eps))


def cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between every row of ``a`` (P, M) and every row of ``b`` (R, M)."""
    diff = a[:, None, :] - b[None, :, :]
    return norm2(diff)


@dataclass(frozen=True)
class AdamConfig:
    """The hyper-parameters of one Adam / AdamW step (torch's defaults, AdamW's weight decay)."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled: bool = False  # AdamW: decay the parameter, not the gradient


def adam_first_step(param: np.ndarray, grad: np.ndarray, cfg: AdamConfig = AdamConfig()) -> np.ndarray:
    """The parameter after Adam's first step from zero moments (step 1, as torch computes it)."""
    if cfg.decoupled:
        param = param * WIDE(1 - cfg.lr * cfg.weight_decay)
    elif cfg.weight_decay:
        grad = grad + WIDE(cfg.weight_decay) * param
    exp_avg = WIDE(1 - cfg.beta1) * grad
    exp_avg_sq = WIDE(1 - cfg.beta2) * grad * grad
    bias_correction1 = WIDE(1 - cfg.beta1)
    bias_correction2 = WIDE(1 - cfg.beta2)
    denom = np.sqrt(exp_avg_sq) / np.sqrt(bias_correction2) + WIDE(cfg.eps)
    return param - WIDE(cfg.lr) / bias_correction1 * exp_avg / denom


@dataclass(frozen=True)
class ErrorSummary:
    """How far results are from their reference, in units of the result dtype's epsilon.

    ``max_eps`` / ``mean_eps`` cover the elements whose reference is finite and non-zero and
    whose result is finite (0.0 when there are none); the counts are results that are inf,
    NaN or zero where the reference is not. With a ``floor``, an element's error is taken
    relative to ``max(|reference|, floor)``: outputs centred on zero (layer norm) have elements
    near zero whose plain relative error says nothing about the op.
    """

    max_eps: float
    mean_eps: float
    compared: int
    inf: int
    nan: int
    zero: int


def error_summary(result, reference: np.ndarray, eps: float, floor: float = 0.0) -> ErrorSummary:
    """Relative error of ``result`` against ``reference`` in units of ``eps``, plus the bad-value counts."""
    got = wide(result)
    ref = np.asarray(reference, dtype=WIDE)
    if got.shape != ref.shape:
        raise ValueError(f"result shape {got.shape} differs from reference shape {ref.shape}")
    ref_finite = np.isfinite(ref)
    inf = int(np.count_nonzero(np.isinf(got) & ~np.isinf(ref)))
    nan = int(np.count_nonzero(np.isnan(got) & ~np.isnan(ref)))
    zero = int(np.count_nonzero((got == 0) & (ref != 0)))
    usable = ref_finite & (ref != 0) & np.isfinite(got)
    if not usable.any():
        return ErrorSummary(0.0, 0.0, 0, inf, nan, zero)
    scale = np.maximum(np.abs(ref[usable]), WIDE(floor))
    relative = np.abs(got[usable] - ref[usable]) / scale / WIDE(eps)
    return ErrorSummary(float(relative.max()), float(relative.mean()), int(usable.sum()), inf, nan, zero)


def rms(values: np.ndarray) -> float:
    """Root mean square of the finite entries of ``values`` (0.0 when there are none)."""
    finite = np.asarray(values, dtype=WIDE)
    finite = finite[np.isfinite(finite)]
    return float(np.sqrt(np.mean(finite * finite))) if finite.size else 0.0
