"""Speed of the composite ops that compute a square root inside, library op beside hand-written formula.

``op`` names the computation (``torch.linalg.vector_norm``, ``torch.std``, ``F.layer_norm``,
``F.rms_norm``, ``F.batch_norm`` in training mode, ``F.group_norm``, ``F.normalize``,
``torch.cdist``); ``impl`` is ``library`` or ``handwritten`` (see ``sqrtwatch.models.formulas``).
Optimizer steps (Adam, AdamW in for-loop, foreach, fused forms, and written out) have their own
classes. Shapes are per op (``sqrtwatch.models.speed``); other shapes skip.
"""

from typing import Any

from . import common, metrics
from .bench_throughput import sample_grid
from .common import DEVICES, Timed

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch.models import speed
except ImportError:
    speed = None  # type: ignore[assignment]  # only the suite's skip reasons need it

FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]
# Static copies of sqrtwatch.models.speed's lists: parameters never depend on an import.
OPS = ["vector_norm", "std", "layer_norm", "rms_norm", "batch_norm", "group_norm", "normalize", "cdist"]
IMPLS = ["library", "handwritten"]
SHAPES = ["512x4096", "4096x4096", "8x64x56x56", "32x64x56x56", "512x512x64", "2048x2048x64"]
OPTIMIZERS = ["adam", "adamw"]
OPTIMIZER_IMPLS = ["forloop", "foreach", "fused", "handwritten"]
OPTIMIZER_SHAPES = ["4x262144", "8x1048576"]

# Quick profile: each op at its small shape, float32, on the CPU, by hand where there is a formula.
_QUICK = {"device": {"cpu"}, "dtype": {"float32"}}
COMPOSITE_QUICK = [
    _QUICK | {"op": {"vector_norm", "std", "layer_norm", "rms_norm"}, "shape": {"512x4096"}},
    _QUICK | {"op": {"normalize"}, "impl": {"library"}, "shape": {"512x4096"}},
    _QUICK | {"op": {"batch_norm", "group_norm"}, "impl": {"library"}, "shape": {"8x64x56x56"}},
    _QUICK | {"op": {"cdist"}, "impl": {"library"}, "shape": {"512x512x64"}},
]
OPTIMIZER_QUICK = [{"device": {"cpu"}, "dtype": {"float32"}, "shape": {"4x262144"}}]


class _Few(Timed):
    """Two rounds: these cells cost milliseconds each, and the quick profile must stay short."""

    rounds = 2
    repeat = (3, 50, 0.1)


def _require_speed():
    if speed is None:
        raise NotImplementedError("sqrtwatch is not installed in this environment")
    return speed


def composite_cell(op, impl, device, dtype, shape):
    """The speed cell after skipping where it cannot run (absent device, op, kernel or shape)."""
    common.require_device(device)
    common.require_dtype_on_device(dtype, device)
    return _require_speed().composite_cell(op, impl, device, dtype, shape)


def optimizer_cell(op, impl, device, dtype, shape):
    """The optimizer-step cell after the same skips."""
    common.require_device(device)
    common.require_dtype_on_device(dtype, device)
    return _require_speed().optimizer_cell(op, impl, device, dtype, shape)


class Composite(_Few):
    """Seconds per call of each composite op, the library's way and by hand."""

    params = [OPS, IMPLS, DEVICES, FLOAT_DTYPES, SHAPES]
    param_names = ["op", "impl", "device", "dtype", "shape"]
    quick_grids = COMPOSITE_QUICK
    version = "1"

    def setup(self, op, impl, device, dtype, shape):
        common.require_profile(
            self.quick_grids, dict(op=op, impl=impl, device=device, dtype=dtype, shape=shape)
        )
        self.call = composite_cell(op, impl, device, dtype, shape).call
        self.sync = common.synchronizer(device)
        self.sync()

    def time_op(self, op, impl, device, dtype, shape):
        self.call()
        self.sync()


class OptimizerStep(_Few):
    """Seconds per optimizer step over 1M / 8M parameters, by implementation form."""

    params = [OPTIMIZERS, OPTIMIZER_IMPLS, DEVICES, FLOAT_DTYPES, OPTIMIZER_SHAPES]
    param_names = ["op", "impl", "device", "dtype", "shape"]
    quick_grids = OPTIMIZER_QUICK
    version = "1"

    def setup(self, op, impl, device, dtype, shape):
        common.require_profile(
            self.quick_grids, dict(op=op, impl=impl, device=device, dtype=dtype, shape=shape)
        )
        self.call = optimizer_cell(op, impl, device, dtype, shape).call
        self.sync = common.synchronizer(device)
        self.sync()

    def time_step(self, op, impl, device, dtype, shape):
        self.call()
        self.sync()


def _bandwidth_samples(build):
    """A ``sample_grid`` cell function timing ``build``'s call against a copy of the same bytes."""

    def sample(op, impl, device, dtype, shape, budget):
        cell = build(op, impl, device, dtype, shape)
        cases = {"op": metrics.Case(cell.call), "copy": metrics.Case(speed.copy_of(cell.nbytes, device))}
        return {**metrics.sample_seconds(cases, common.synchronizer(device), budget), "nbytes": [cell.nbytes]}

    return sample


class _Bandwidth:
    """Effective GB/s and fraction of the same-run copy roofline, from one pass over the grid.

    Bytes are the least each call must move (inputs read once, outputs written once).
    Subclasses each define ``setup_cache``: asv keys its cache by the function's source line,
    so one inherited function would hand every subclass the first one's measurements.
    """

    budget = metrics.Budget(min_samples=3, max_samples=100, max_seconds=0.3)
    passes = 2
    timeout = 1800
    build: Any = None  # the cell builder (composite_cell or optimizer_cell), set by each subclass

    def measure_grid(self):
        """Every cell's (bytes, op seconds, copy seconds), or the reason it skips."""
        measured: dict[tuple, str | tuple[float, float, float]] = {}
        for values, outcome in sample_grid(self, _bandwidth_samples(type(self).build)).items():
            if isinstance(outcome, str):
                measured[values] = outcome
            else:
                op_s, copy_s = metrics.median(outcome["op"]), metrics.median(outcome["copy"])
                measured[values] = (outcome["nbytes"][0], op_s, copy_s)
        return measured

    def setup(self, measured, *values):
        sample = measured[values]
        if isinstance(sample, str):
            raise NotImplementedError(sample)
        self.nbytes, self.op_seconds, self.copy_seconds = sample

    @common.unit("GB/s")
    def track_gbps(self, measured, *values):
        return metrics.gigabytes_per_second(self.nbytes, self.op_seconds)

    @common.unit("fraction")
    def track_roofline_fraction(self, measured, *values):
        return metrics.roofline_fraction(self.copy_seconds, self.op_seconds)


class CompositeBandwidth(_Bandwidth):
    """GB/s and copy-roofline fraction of the composite ops (grid of ``Composite``)."""

    params = Composite.params
    param_names = Composite.param_names
    quick_grids = COMPOSITE_QUICK
    build = staticmethod(composite_cell)
    version = "1"

    def setup_cache(self):
        return self.measure_grid()


class OptimizerBandwidth(_Bandwidth):
    """GB/s and copy-roofline fraction of the optimizer steps (grid of ``OptimizerStep``)."""

    params = OptimizerStep.params
    param_names = OptimizerStep.param_names
    quick_grids = OPTIMIZER_QUICK
    build = staticmethod(optimizer_cell)
    version = "1"

    def setup_cache(self):
        return self.measure_grid()
