"""Workload files written by ``sqrtwatch trace --format json``, and replaying their calls.

A replayed call runs the same aten operator overload on fresh tensors of the recorded shapes,
dtypes and devices, with the recorded scalar arguments. Floating tensors hold seeded values in
[0.5, 1.5) (valid for every sqrt-computing op; 0-dim tensors, such as optimizer step counts,
hold 1), integer tensors hold ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .tracer import WORKLOAD_KIND, WORKLOAD_VERSION


class WorkloadError(ValueError):
    """A workload file that cannot be read or replayed."""


@dataclass(frozen=True)
class WorkloadCall:
    """One recorded operator call group: the overload, its arguments, and a label for asv."""

    label: str
    op: str
    args: list
    kwargs: dict
    calls: int

    @property
    def device(self) -> str:
        """The device of the call's first tensor argument (``cpu`` when it has none)."""
        first = next(iter(tensor_specs(self.args)), None)
        return first["device"] if first else "cpu"


def load_workload(path: str | Path) -> list[WorkloadCall]:
    """The calls of the workload file at ``path``; ``WorkloadError`` naming the file and the problem."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read workload file: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict) or data.get("kind") != WORKLOAD_KIND:
        raise WorkloadError(
            f"{path}: not a sqrtwatch workload (write one with `sqrtwatch trace --format json`)"
        )
    if data.get("version") != WORKLOAD_VERSION:
        raise WorkloadError(f"{path}: workload version {data.get('version')!r}, expected {WORKLOAD_VERSION}")
    calls = []
    for index, entry in enumerate(data.get("ops", [])):
        try:
            op, args, kwargs, count = entry["op"], entry["args"], entry["kwargs"], int(entry["calls"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WorkloadError(f"{path}: ops[{index}] lacks op, args, kwargs or calls") from exc
        calls.append(WorkloadCall(_label(index, op, args), op, args, kwargs, count))
    return calls


def _label(index: int, op: str, args: list) -> str:
    """``00 native_layer_norm 4x64x256 float32 cpu``: short, unique, stable for one file."""
    short = re.sub(r"^aten\.|\.default$", "", op)
    first = next(iter(tensor_specs(args)), None)
    where = f" {'x'.join(map(str, first['tensor']))} {first['dtype']} {first['device']}" if first else ""
    return f"{index:02d} {short}{where}"


def tensor_specs(spec: object):
    """The tensor descriptions in an argument description, depth first."""
    if isinstance(spec, dict) and "tensor" in spec:
        yield spec
    elif isinstance(spec, list):
        for item in spec:
            yield from tensor_specs(item)


def labels(path: str | Path) -> list[str]:
    """The asv parameter values of a workload: one label per call group."""
    return [call.label for call in load_workload(path)]


def replay(call: WorkloadCall) -> Callable[[], object]:
    """A function that runs ``call``'s operator once on fresh inputs of the recorded description."""
    import torch

    packet_name, _, overload = call.op.removeprefix("aten.").rpartition(".")
    try:
        fn = getattr(getattr(torch.ops.aten, packet_name), overload)
    except AttributeError as exc:
        raise WorkloadError(f"this torch has no operator {call.op}") from exc
    counter = iter(range(1 << 30))
    args = [_build(spec, counter) for spec in call.args]
    kwargs = {key: _build(spec, counter) for key, spec in call.kwargs.items()}
    return lambda: fn(*args, **kwargs)


def _build(spec: object, counter) -> object:
    import torch

    if isinstance(spec, list):
        return [_build(item, counter) for item in spec]
    if not isinstance(spec, dict):
        return spec
    if "tensor" in spec:
        dtype = getattr(torch, spec["dtype"])
        shape = tuple(spec["tensor"])
        if not dtype.is_floating_point or not shape:
            return torch.ones(shape, dtype=dtype, device=spec["device"])
        generator = torch.Generator().manual_seed(next(counter))
        values = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
        return values.to(device=spec["device"], dtype=dtype)
    if "float" in spec:
        return float(spec["float"])
    if "dtype_value" in spec:
        return getattr(torch, spec["dtype_value"])
    if "device_value" in spec:
        return torch.device(spec["device_value"])
    raise WorkloadError(f"cannot rebuild an argument of type {spec.get('unsupported', spec)}")
