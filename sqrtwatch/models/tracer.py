"""Run a step once under a torch dispatch mode and report the operator calls that take square roots.

Every aten call is timed (synchronising CUDA around it), so each sqrt-computing call's share
of the step's operator time is known. Calls are grouped by operator and argument description
(shapes, dtypes, devices, scalars), which is also what ``sqrtwatch run --workload`` replays.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .sqrt_ops import sqrt_site

WORKLOAD_KIND = "sqrtwatch-workload"
WORKLOAD_VERSION = 1


def describe(value: object) -> object:
    """A JSON description of an operator argument: tensors by shape, dtype and device."""
    if isinstance(value, torch.Tensor):
        return {"tensor": list(value.shape), "dtype": _name(value.dtype), "device": value.device.type}
    if isinstance(value, list | tuple):
        return [describe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, torch.dtype):
        return {"dtype_value": _name(value)}
    if isinstance(value, torch.device):
        return {"device_value": str(value)}
    return {"unsupported": type(value).__name__}


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _tensors(described: object) -> list[dict]:
    if isinstance(described, dict) and "tensor" in described:
        return [described]
    if isinstance(described, list):
        return [t for item in described for t in _tensors(item)]
    return []


@dataclass
class TraceEntry:
    """One sqrt-computing operator with one argument description, and how often and long it ran."""

    op: str
    where: str
    args: list
    kwargs: dict
    calls: int = 0
    seconds: float = 0.0
    share: float = 0.0

    @property
    def tensors(self) -> list[dict]:
        return _tensors(self.args) + _tensors(list(self.kwargs.values()))

    def summary(self) -> str:
        """``shapes dtype device``, e.g. ``256x64 float32 cpu`` (first tensor's dtype and device)."""
        tensors = self.tensors
        shapes = ",".join("x".join(map(str, t["tensor"])) or "scalar" for t in tensors[:3])
        if len(tensors) > 3:
            shapes += f",+{len(tensors) - 3}"
        first = tensors[0] if tensors else {"dtype": "-", "device": "-"}
        return f"{shapes} {first['dtype']} {first['device']}"


@dataclass
class Trace:
    """What one run of a step called: every sqrt-computing call group, and totals over all ops."""

    target: str
    torch_version: str
    total_calls: int = 0
    total_seconds: float = 0.0
    entries: list[TraceEntry] = field(default_factory=list)
    all_ops: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The workload file's content (``--format json``)."""
        return {
            "kind": WORKLOAD_KIND,
            "version": WORKLOAD_VERSION,
            "target": self.target,
            "torch_version": self.torch_version,
            "total_calls": self.total_calls,
            "total_seconds": self.total_seconds,
            "sqrt_share": sum(e.share for e in self.entries),
            "ops": [asdict(e) for e in self.entries],
            "all_ops": self.all_ops,
        }


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[str, str], TraceEntry] = {}
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = func(*args, **kwargs)
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        name = str(func)
        self.calls[name] += 1
        self.seconds += elapsed
        where = sqrt_site(str(func.overloadpacket), args, kwargs)
        if where is not None:
            described_args = [describe(arg) for arg in args]
            described_kwargs = {key: describe(value) for key, value in kwargs.items()}
            key = (name, json.dumps([described_args, described_kwargs], sort_keys=True))
            entry = self.groups.setdefault(key, TraceEntry(name, where, described_args, described_kwargs))
            entry.calls += 1
            entry.seconds += elapsed
        return out


def trace_callable(fn: Callable[[], object], target: str = "", warmup: int = 0) -> Trace:
    """Call ``fn`` ``warmup`` times untraced, then once under the recorder; return what it found."""
    for _ in range(warmup):
        fn()
    recorder = _Recorder()
    with recorder:
        fn()
    entries = sorted(recorder.groups.values(), key=lambda e: e.seconds, reverse=True)
    for entry in entries:
        entry.share = entry.seconds / recorder.seconds if recorder.seconds > 0 else 0.0
    return Trace(
        target=target,
        torch_version=torch.__version__,
        total_calls=sum(recorder.calls.values()),
        total_seconds=recorder.seconds,
        entries=entries,
        all_ops=dict(sorted(recorder.calls.items())),
    )


def format_text(trace: Trace) -> str:
    """A table of the sqrt-computing calls, biggest share first."""
    lines = [
        f"{trace.target} (torch {trace.torch_version}): {trace.total_calls} operator calls, "
        f"{trace.total_seconds * 1e3:.2f} ms of operator time",
    ]
    if not trace.entries:
        lines.append("no operator call computed a square root")
        return "\n".join(lines)
    share = sum(e.share for e in trace.entries)
    lines.append(
        f"{sum(e.calls for e in trace.entries)} calls compute a square root: {share:.1%} of the time"
    )
    lines.append(f"{'share':>7} {'ms':>9} {'calls':>5}  op  [shapes dtype device]")
    for e in trace.entries:
        lines.append(f"{e.share:7.2%} {e.seconds * 1e3:9.3f} {e.calls:5d}  {e.op}  [{e.summary()}]")
    return "\n".join(lines)
