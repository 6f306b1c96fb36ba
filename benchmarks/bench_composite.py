"""Speed of the composite ops that compute a square root inside, library op beside hand-written formula.

``op`` names the computation (``torch.linalg.vector_norm``, ``torch.std``, ``F.layer_norm``,
``F.rms_norm``, ``F.batch_norm`` in training mode, ``F.group_norm``, ``F.normalize``,
``torch.cdist``), with ``:handwritten`` for the formula written out (see
``sqrtwatch.models.formulas``): only pairs that exist are parameters, so no cell skips for that.
``size`` (``small``/``large``) maps per op to a realistic shape (``sqrtwatch.models.speed``).
Optimizer steps (Adam, AdamW in for-loop, foreach, fused forms, and written out) have their own
classes. The bandwidth classes measure the large size only: the small one fits in caches.
"""

from typing import Any

from . import common, metrics
from .bench_throughput import sample_grid
from .common import DEVICES, Timed

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch.models import speed
except ImportError:
    speed = None  # type: ignore[assignment]  # only the suite's skip reasons need it

FLOAT_DTYPES = common.REAL_DTYPES
# Static copies of sqrtwatch.models.speed's lists: parameters never depend on an import.
OPS = [
    "vector_norm",
    "vector_norm:handwritten",
    "std",
    "std:handwritten",
    "layer_norm",
    "layer_norm:handwritten",
    "rms_norm",
    "rms_norm:handwritten",
    "batch_norm",
    "group_norm",
    "normalize",
    "cdist",
]
SIZES = ["small", "large"]
OPTIMIZERS = ["adam", "adamw"]
OPTIMIZER_IMPLS = ["forloop", "foreach", "fused", "handwritten"]

# Quick profile: float32 on the CPU; each op once at its small size, both ways where there is a
# formula; bandwidth of the four formulas both ways; Adam's four forms.
_QUICK = {"device": {"cpu"}, "dtype": {"float32"}}
COMPOSITE_QUICK = [_QUICK | {"size": {"small"}}]
COMPOSITE_BANDWIDTH_QUICK = [_QUICK | {"op": set(OPS[:8])}]
OPTIMIZER_QUICK = [_QUICK | {"op": {"adam"}, "size": {"small"}}]
OPTIMIZER_BANDWIDTH_QUICK = [_QUICK | {"op": {"adam"}}]


class _Few(Timed):
    """One round: each round is a process per cell (seconds where asv spawns, as on GPU runners)."""

    rounds = 1
    repeat = (3, 50, 0.1)


def _require_speed():
    if speed is None:
        raise NotImplementedError("sqrtwatch is not installed in this environment")
    return speed


def composite_cell(op, device, dtype, size="large"):
    """The speed cell of ``op`` (``name[:handwritten]``) after skipping where it cannot run."""
    common.require_device(device)
    common.require_dtype_on_device(dtype, device)
    lib = _require_speed()
    name, impl = lib.formulas.split_name(op)
    return lib.composite_cell(name, impl, device, dtype, lib.shape_of(name, size))


def optimizer_cell(op, impl, device, dtype, size="large"):
    """The optimizer-step cell after the same skips."""
    common.require_device(device)
    common.require_dtype_on_device(dtype, device)
    lib = _require_speed()
    return lib.optimizer_cell(op, impl, device, dtype, lib.optimizer_shape(size))


class Composite(_Few):
    """Seconds per call of each composite op, the library's way and by hand."""

    params = [OPS, DEVICES, FLOAT_DTYPES, SIZES]
    param_names = ["op", "device", "dtype", "size"]
    quick_grids = COMPOSITE_QUICK
    version = "2"

    def setup(self, op, device, dtype, size):
        common.require_profile(self.quick_grids, dict(op=op, device=device, dtype=dtype, size=size))
        self.call = composite_cell(op, device, dtype, size).call
        self.sync = common.synchronizer(device)
        self.sync()

    def time_op(self, op, device, dtype, size):
        self.call()
        self.sync()


class OptimizerStep(_Few):
    """Seconds per optimizer step over 1M (small) / 8M (large) parameters, by implementation form."""

    params = [OPTIMIZERS, OPTIMIZER_IMPLS, DEVICES, FLOAT_DTYPES, SIZES]
    param_names = ["op", "impl", "device", "dtype", "size"]
    quick_grids = OPTIMIZER_QUICK
    version = "2"

    def setup(self, op, impl, device, dtype, size):
        common.require_profile(
            self.quick_grids, dict(op=op, impl=impl, device=device, dtype=dtype, size=size)
        )
        self.call = optimizer_cell(op, impl, device, dtype, size).call
        self.sync = common.synchronizer(device)
        self.sync()

    def time_step(self, op, impl, device, dtype, size):
        self.call()
        self.sync()


def _bandwidth_samples(build):
    """A ``sample_grid`` cell function timing ``build``'s call against a copy of the same bytes."""

    def sample(budget, **cell_values):
        cell = build(**cell_values)
        device = cell_values["device"]
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
    """GB/s and copy-roofline fraction of the composite ops (grid of ``Composite``, large size)."""

    params = Composite.params[:-1]  # the large size
    param_names = Composite.param_names[:-1]
    quick_grids = COMPOSITE_BANDWIDTH_QUICK
    build = staticmethod(composite_cell)
    version = "2"

    def setup_cache(self):
        return self.measure_grid()


class OptimizerBandwidth(_Bandwidth):
    """GB/s and copy-roofline fraction of the optimizer steps (grid of ``OptimizerStep``, 8M parameters)."""

    params = OptimizerStep.params[:-1]  # the large size
    param_names = OptimizerStep.param_names[:-1]
    quick_grids = OPTIMIZER_BANDWIDTH_QUICK
    build = staticmethod(optimizer_cell)
    version = "2"

    def setup_cache(self):
        return self.measure_grid()
