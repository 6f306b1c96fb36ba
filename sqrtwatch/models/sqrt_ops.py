"""The aten operators that compute a square root of tensor data, each checked against PyTorch's source.

Keys are operator packets as a dispatch mode sees them (``str(func.overloadpacket)``). ``where``
cites the file and function of PyTorch (``aten/src/ATen/native/...``) where the root is taken.
Deliberately absent: ``var``/``var_mean`` (no root), ``addcdiv``, dropout (``native_dropout``,
``bernoulli_`` + ``div_``: a division by the keep probability), and scaled-dot-product attention,
whose ``1 / sqrt(head_dim)`` is a host-side scalar (``sdp_utils`` ``calculate_scale``), not data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _always(args: tuple, kwargs: dict) -> bool:
    return True


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: object) -> object:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _two_norm(index: int, name: str) -> Callable[[tuple, dict], bool]:
    """Only the 2-norm takes a root; other orders use pow(1/p) or none."""

    def applies(args: tuple, kwargs: dict) -> bool:
        order = _arg(args, kwargs, index, name, 2)
        return order is None or (isinstance(order, int | float) and float(order) == 2.0)

    return applies


def _half_power(args: tuple, kwargs: dict) -> bool:
    exponent = _arg(args, kwargs, 1, "exponent", None)
    return isinstance(exponent, int | float) and float(exponent) in (0.5, -0.5)


@dataclass(frozen=True)
class SqrtOp:
    """Where an operator takes its square root, and on which arguments it does."""

    where: str
    applies: Callable[[tuple, dict], bool] = _always


_UNARY = "cpu/UnaryOpsKernel.cpp sqrt_kernel / rsqrt_kernel (Vectorized::sqrt, 1 / std::sqrt)"
_FOREACH = "ForeachOpsKernels.cpp FOREACH_UNARY_OP(sqrt): at::sqrt per tensor"
_NORM2 = "SharedReduceOps.h NormTwoOps::project (device_sqrt), from cpu/ReduceOpsKernel.cpp norm kernel"
_WELFORD = "SharedReduceOps.h WelfordOps::project (take_sqrt ? device_sqrt(var) : var)"
_BATCH_NORM = "Normalization.cpp InvStd::operator() (1 / std::sqrt(var + epsilon))"
_CDIST = "cpu/DistanceOpsKernel.cpp Dist::tdist_calc::finish (std::sqrt of the summed squares)"
_FUSED_ADAM = "cpu/FusedAdamKernel.cpp adam_fused_step_impl (exp_avg_sq.sqrt() / bias_correction2_sqrt + eps)"

SQRT_OPS: dict[str, SqrtOp] = {
    "aten.sqrt": SqrtOp(_UNARY),
    "aten.sqrt_": SqrtOp(_UNARY),
    "aten.rsqrt": SqrtOp(_UNARY),
    "aten.rsqrt_": SqrtOp(_UNARY),
    "aten._foreach_sqrt": SqrtOp(_FOREACH),
    "aten._foreach_sqrt_": SqrtOp(_FOREACH),
    "aten.pow": SqrtOp(
        "cpu/PowKernel.cpp pow_tensor_scalar_kernel (exp == 0.5: sqrt, -0.5: rsqrt)", _half_power
    ),
    "aten.pow_": SqrtOp(
        "cpu/PowKernel.cpp pow_tensor_scalar_kernel (exp == 0.5: sqrt, -0.5: rsqrt)", _half_power
    ),
    "aten.linalg_vector_norm": SqrtOp(_NORM2, _two_norm(1, "ord")),
    "aten.norm": SqrtOp(_NORM2, _two_norm(1, "p")),
    "aten._foreach_norm": SqrtOp(
        "ForeachOpsKernels.cpp foreach_tensor_norm_slow: at::linalg_vector_norm per tensor",
        _two_norm(1, "ord"),
    ),
    "aten.std": SqrtOp(_WELFORD),
    "aten.std_mean": SqrtOp(_WELFORD),
    "aten.native_layer_norm": SqrtOp(
        "cpu/layer_norm_kernel.cpp LayerNormKernelImplInternal (rstd = 1 / std::sqrt(var + eps))"
    ),
    # Not source-checked here: its contract is x * rsqrt(mean(x^2) + eps), as layer_norm.cpp's
    # rms_norm_symint writes out with at::rsqrt (checked) where no fused kernel applies.
    "aten._fused_rms_norm": SqrtOp("layer_norm.cpp rms_norm_symint: rsqrt(pow(x, 2).mean(dims) + eps)"),
    "aten.native_batch_norm": SqrtOp(_BATCH_NORM),
    "aten._native_batch_norm_legit": SqrtOp(_BATCH_NORM),
    "aten._native_batch_norm_legit_no_training": SqrtOp(_BATCH_NORM),
    "aten._batch_norm_with_update": SqrtOp(_BATCH_NORM),
    "aten._batch_norm_no_update": SqrtOp(_BATCH_NORM),
    "aten.native_group_norm": SqrtOp(
        "cpu/group_norm_kernel.cpp GroupNormKernelImplInternal (1 / std::sqrt(max(var, 0) + eps))"
    ),
    "aten._cdist_forward": SqrtOp(_CDIST, _two_norm(2, "p")),
    "aten._pdist_forward": SqrtOp(_CDIST, _two_norm(1, "p")),
    "aten._euclidean_dist": SqrtOp("Distance.cpp _euclidean_dist (result.clamp_min_(0).sqrt_())"),
    "aten._fused_adam": SqrtOp(_FUSED_ADAM),
    "aten._fused_adam_": SqrtOp(_FUSED_ADAM),
    "aten._fused_adamw": SqrtOp(_FUSED_ADAM),
    "aten._fused_adamw_": SqrtOp(_FUSED_ADAM),
}


def sqrt_site(packet: str, args: tuple, kwargs: dict) -> str | None:
    """Where ``packet`` called with ``args`` / ``kwargs`` takes a square root, or None if it does not."""
    entry = SQRT_OPS.get(packet)
    if entry is None or not entry.applies(args, kwargs):
        return None
    return entry.where
