"""Accuracy and range of the composite ops and hand-written formulas, as ``track_*`` benchmarks.

Errors are in units of the output dtype's epsilon against a ``longdouble`` reference on the
same (rounded) inputs. One cell per formula (``op`` or ``op:handwritten``), device and dtype
covers every input case of ``sqrtwatch.models.formulas.CASES``: the max error is the largest
over the cases, the mean error that on seeded random inputs, the counts (results that are inf,
NaN or zero where the reference is not) add up over the cases; ``scripts/models_tables.py``
prints the per-case table. Ranges are the log2 input magnitudes at which a formula first fails
going up (overflow) and going down (underflow), by bisection (``sqrtwatch.models.ranges``).
Every cell is computed once per process in ``setup_cache``: the arrays are small.
"""

from dataclasses import dataclass

from . import common
from .bench_composite import OPS as SPEED_OPS
from .common import DEVICES

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch.models import formulas, ranges
except ImportError:
    formulas = ranges = None  # type: ignore[assignment]  # cells skip without sqrtwatch

FLOAT_DTYPES = common.REAL_DTYPES
# Static (sqrtwatch.models.formulas.formula_names): the speed suite's ops and Adam's denominator.
OPS = [*SPEED_OPS, "adam", "adam:handwritten"]

# Quick profile: the 2-norm both ways in float16 (the formula that overflows first), the
# ranges of the 2-norm, std and RMSNorm both ways in float16.
ACCURACY_QUICK = [{"device": {"cpu"}, "op": set(OPS[:2]), "dtype": {"float16"}}]
RANGE_QUICK = [{"device": {"cpu"}, "op": set(OPS[:4]) | set(OPS[6:8]), "dtype": {"float16"}}]


@dataclass(frozen=True)
class _AllCases:
    """One formula's accuracy over every input case (see the module docstring)."""

    max_eps: float
    mean_eps: float
    inf: int
    nan: int
    zero: int


def measure_all_cases(op, device, dtype):
    """``formulas.measure`` of ``op`` (``name[:impl]``) over every case that applies to it."""
    name, impl = formulas.split_name(op)
    summaries = {}
    for case in formulas.CASES:
        try:
            summaries[case] = formulas.measure(name, impl, case, dtype, device)
        except NotImplementedError:
            if case != "eps_dominated":  # only ops with an eps have that case
                raise
    return _AllCases(
        max_eps=max(s.max_eps for s in summaries.values()),
        mean_eps=summaries["random"].mean_eps,
        inf=sum(s.inf for s in summaries.values()),
        nan=sum(s.nan for s in summaries.values()),
        zero=sum(s.zero for s in summaries.values()),
    )


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
    """Max / mean relative error (eps of the output dtype) and inf / NaN / zero counts over the cases."""

    params = [OPS, DEVICES, FLOAT_DTYPES]
    param_names = ["op", "device", "dtype"]
    quick_grids = ACCURACY_QUICK
    timeout = 600
    version = "2"

    def setup_cache(self):
        return _cells(self, measure_all_cases)

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

    params = [OPS, DEVICES, FLOAT_DTYPES]
    param_names = ["op", "device", "dtype"]
    quick_grids = RANGE_QUICK
    timeout = 600
    version = "2"

    def setup_cache(self):
        def compute(op, device, dtype):
            return ranges.find_range(*formulas.split_name(op), dtype, device)

        return _cells(self, compute)

    @common.unit("log2 magnitude")
    def track_overflow_log2(self, measured, *values):
        return self.outcome.overflow_log2

    @common.unit("log2 magnitude")
    def track_underflow_log2(self, measured, *values):
        return self.outcome.underflow_log2
