"""Accuracy and range of the composite ops and hand-written formulas, as ``track_*`` benchmarks.

Errors are in units of the output dtype's epsilon against a ``longdouble`` reference on the
same (rounded) inputs, for seeded random inputs and the hard cases of
``sqrtwatch.models.formulas.CASES``; counts are results that are inf, NaN or zero where the
reference is not. Ranges are the log2 input magnitudes at which a formula first fails going
up (overflow) and going down (underflow), by bisection (``sqrtwatch.models.ranges``).
Every cell is computed once per process in ``setup_cache``: the arrays are small.
"""

from . import common
from .common import DEVICES

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch.models import formulas, ranges
except ImportError:
    formulas = ranges = None  # type: ignore[assignment]  # cells skip without sqrtwatch

FLOAT_DTYPES = ["float16", "bfloat16", "float32", "float64"]
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
CASES = ["random", "large_mean", "near_overflow", "near_underflow", "eps_dominated", "zeros"]

ACCURACY_QUICK = [
    {"device": {"cpu"}, "op": {"vector_norm", "rms_norm", "std"}, "dtype": {"float16", "float32"}}
]
RANGE_QUICK = [{"device": {"cpu"}, "op": {"vector_norm", "rms_norm", "std"}}]


def _cells(suite, compute):
    """``compute(**cell)`` for every cell of ``suite``'s grid, or the reason it skips."""
    import itertools

    results = {}
    for values in itertools.product(*suite.params):
        cell = dict(zip(suite.param_names, values))
        try:
            common.require_profile(suite.quick_grids, cell)
            common.require_device(cell["device"])
            common.require_dtype_on_device(cell["dtype"], cell["device"])
            if formulas is None:
                raise NotImplementedError("sqrtwatch is not installed in this environment")
            results[values] = compute(**cell)
        except NotImplementedError as exc:
            results[values] = str(exc)
        except RuntimeError as exc:  # a kernel missing for this dtype or device
            results[values] = f"unsupported here: {str(exc).splitlines()[0]}"
    return results


class _Cached:
    def setup(self, measured, *values):
        outcome = measured[values]
        if isinstance(outcome, str):
            raise NotImplementedError(outcome)
        self.outcome = outcome


class CompositeAccuracy(_Cached):
    """Max / mean relative error (eps of the output dtype) and inf / NaN / zero counts per case."""

    params = [OPS, IMPLS, DEVICES, FLOAT_DTYPES, CASES]
    param_names = ["op", "impl", "device", "dtype", "case"]
    quick_grids = ACCURACY_QUICK
    timeout = 600
    version = "1"

    def setup_cache(self):
        def compute(op, impl, device, dtype, case):
            return formulas.measure(op, impl, case, dtype, device)

        return _cells(self, compute)

    @common.unit("eps")
    def track_max_error(self, measured, *values):
        return self.outcome.max_eps

    @common.unit("eps")
    def track_mean_error(self, measured, *values):
        return self.outcome.mean_eps

    @common.unit("count")
    def track_inf_results(self, measured, *values):
        return self.outcome.inf

    @common.unit("count")
    def track_nan_results(self, measured, *values):
        return self.outcome.nan

    @common.unit("count")
    def track_zero_results(self, measured, *values):
        return self.outcome.zero


class FormulaRange(_Cached):
    """log2 of the input magnitude where each formula first overflows / underflows, per dtype.

    A value equal to the dtype's own limit (log2 of its largest value, or of its smallest
    subnormal) means the formula never failed inside the dtype's range.
    """

    params = [OPS, IMPLS, DEVICES, FLOAT_DTYPES]
    param_names = ["op", "impl", "device", "dtype"]
    quick_grids = RANGE_QUICK
    timeout = 600
    version = "1"

    def setup_cache(self):
        def compute(op, impl, device, dtype):
            return ranges.find_range(op, impl, dtype, device)

        return _cells(self, compute)

    @common.unit("log2 magnitude")
    def track_overflow_log2(self, measured, *values):
        return self.outcome.overflow_log2

    @common.unit("log2 magnitude")
    def track_underflow_log2(self, measured, *values):
        return self.outcome.underflow_log2
