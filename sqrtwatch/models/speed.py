"""Speed cells of the composite ops and optimizer steps: the call to time and the bytes it moves.

Shapes are strings (asv parameters are plain values): ``TOKENSxHIDDEN`` for row ops,
``NxCxHxW`` for batch/group norm, ``PxRxM`` for cdist, ``TENSORSxELEMENTS`` for optimizers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import formulas

ROW_SHAPES = ["512x4096", "4096x4096"]  # tokens x hidden (a 7B-class transformer's hidden size)
IMAGE_SHAPES = ["8x64x56x56", "32x64x56x56"]  # a ResNet stage's activations
CDIST_SHAPES = ["512x512x64", "2048x2048x64"]
SHAPES = ROW_SHAPES + IMAGE_SHAPES + CDIST_SHAPES
OPTIMIZER_SHAPES = ["4x262144", "8x1048576"]  # 1M and 8M parameters
OPTIMIZERS = ["adam", "adamw"]
OPTIMIZER_IMPLS = ["forloop", "foreach", "fused", "handwritten"]
SPEED_OPS = [op for op in formulas.OPS if op != "adam"]  # Adam is timed as a whole step
SPEED_FORMULAS = formulas.formula_names(SPEED_OPS)
SIZES = ["small", "large"]  # index into each op's shape list


def dims(shape: str) -> tuple[int, ...]:
    """``"512x4096"`` -> ``(512, 4096)``."""
    return tuple(int(part) for part in shape.split("x"))


def shapes_of(op: str) -> list[str]:
    """The shapes ``op`` is timed at."""
    kind = formulas.kind_of(op)
    return {"row": ROW_SHAPES, "image": IMAGE_SHAPES, "cdist": CDIST_SHAPES}[kind]


def shape_of(op: str, size: str) -> str:
    """The shape ``op`` is timed at for ``size`` (``small`` or ``large``)."""
    return shapes_of(op)[SIZES.index(size)]


def optimizer_shape(size: str) -> str:
    """The optimizer's parameters for ``size``: 1M (``small``) or 8M (``large``)."""
    return OPTIMIZER_SHAPES[SIZES.index(size)]


@dataclass(frozen=True)
class SpeedCell:
    """One thing to time (``call``) and the bytes it must read and write at least (``nbytes``)."""

    call: Callable[[], object]
    nbytes: int


def _seeded(shape: tuple[int, ...], dtype: torch.dtype, device: str, *key: object) -> torch.Tensor:
    """Standard normal values of ``shape`` seeded by ``key``, in ``dtype`` on ``device``."""
    values = formulas.seeded_normal(shape, "speed", *key)
    return torch.from_numpy(values).to(device=device, dtype=dtype)


def composite_cell(op: str, impl: str, device: str, dtype: str, shape: str) -> SpeedCell:
    """The call of ``op`` (``impl`` way) on seeded inputs of ``shape``; NotImplementedError where none."""
    if shape not in shapes_of(op):
        raise NotImplementedError(f"{op} is not timed at {shape}")
    fn = formulas.formula(op, impl)
    torch_dtype = getattr(torch, dtype)
    size = dims(shape)
    itemsize = torch_dtype.itemsize
    if op == "cdist":
        p, r, m = size
        a = _seeded((p, m), torch_dtype, device, op, shape, dtype, "a")
        b = _seeded((r, m), torch_dtype, device, op, shape, dtype, "b")
        args: tuple[torch.Tensor, ...] = (a, b)
        nbytes = (p * m + r * m + p * r) * itemsize
    else:
        x = _seeded(size, torch_dtype, device, op, shape, dtype)
        args = (x,)
        reduced = op in ("vector_norm", "std")
        out_elements = x.numel() // size[-1] if reduced else x.numel()
        nbytes = (x.numel() + out_elements) * itemsize
    _probe(fn, args, op, dtype, device)
    return SpeedCell(lambda: fn(*args), nbytes)


def _probe(fn, args, what: str, dtype: str, device: str) -> None:
    """Run once: a kernel missing for this dtype or device is a skip, not a failure."""
    try:
        with torch.no_grad():
            fn(*args)
    except (RuntimeError, NotImplementedError) as exc:
        raise NotImplementedError(f"{what} in {dtype} on {device}: {exc}".splitlines()[0]) from exc


def optimizer_cell(op: str, impl: str, device: str, dtype: str, shape: str) -> SpeedCell:
    """One optimizer step over ``shape`` parameters (state already initialised by a first step)."""
    if op not in OPTIMIZERS or impl not in OPTIMIZER_IMPLS:
        raise ValueError(f"unknown optimizer {op!r} or impl {impl!r}")
    torch_dtype = getattr(torch, dtype)
    count, elements = dims(shape)
    params = [_seeded((elements,), torch_dtype, device, op, shape, dtype, i) for i in range(count)]
    for i, p in enumerate(params):
        p.grad = _seeded((elements,), torch_dtype, device, op, shape, dtype, "grad", i)
    # param, grad, exp_avg, exp_avg_sq read; param, exp_avg, exp_avg_sq written
    nbytes = 7 * count * elements * torch_dtype.itemsize
    if impl == "handwritten":
        step = _handwritten_step(params, decoupled=op == "adamw")
    else:
        cls = torch.optim.AdamW if op == "adamw" else torch.optim.Adam
        try:
            optimizer = cls(
                params, lr=1e-3, foreach=impl == "foreach", fused=True if impl == "fused" else None
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise NotImplementedError(f"{impl} {op} unavailable: {exc}".splitlines()[0]) from exc
        step = optimizer.step
    _probe(step, (), f"{impl} {op}", dtype, device)  # also creates the optimizer state
    return SpeedCell(step, nbytes)


def _handwritten_step(params: list[torch.Tensor], decoupled: bool) -> Callable[[], None]:
    """Adam(W) written out per tensor, denominator ``exp_avg_sq.sqrt() / sqrt(bias_correction2) + eps``."""
    lr, beta1, beta2, eps, weight_decay = 1e-3, 0.9, 0.999, 1e-8, 1e-2 if decoupled else 0.0
    grads = [p.grad for p in params if p.grad is not None]
    exp_avgs = [torch.zeros_like(p) for p in params]
    exp_avg_sqs = [torch.zeros_like(p) for p in params]
    state = {"step": 0}

    @torch.no_grad()
    def step() -> None:
        state["step"] += 1
        bias_correction1 = 1 - beta1 ** state["step"]
        bias_correction2 = 1 - beta2 ** state["step"]
        for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
            if weight_decay:
                p.mul_(1 - lr * weight_decay)
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = v.sqrt() / bias_correction2**0.5 + eps
            p.addcdiv_(m, denom, value=-lr / bias_correction1)

    return step


def copy_of(nbytes: int, device: str) -> Callable[[], object]:
    """A plain copy moving ``nbytes`` (half read, half written): the same-run memory roofline."""
    half = max(nbytes // 2, 1)
    source = torch.ones(half, dtype=torch.uint8, device=device)
    target = torch.empty_like(source)
    return lambda: target.copy_(source)
