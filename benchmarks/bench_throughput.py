"""Throughput of ``torch.sqrt``: seconds per call, GB/s, elements/s, roofline, small-tensor cost.

Every class names its parameters after the grid (device, dtype, size, variant, threads,
domain) so the dashboard and the detection group cells the same way across suites.
``quick_grids`` hold the cells the quick profile keeps; the others skip under it.
"""

import itertools
from dataclasses import dataclass

from . import common, metrics
from .common import DEVICES, DOMAINS, DTYPES, SIZES, THREADS, VARIANTS, Timed

# Bandwidth and roofline are about memory: sizes well beyond the caches.
_BANDWIDTH_SIZES = [10_000_000, 100_000_000]
_MID_SIZES = [100_000, 10_000_000]  # cache-resident and memory-bound


class Sqrt(Timed):
    """Seconds per ``torch.sqrt`` call over the main grid, on positive inputs, all CPU cores."""

    params = [DEVICES, DTYPES, SIZES, VARIANTS]
    param_names = ["device", "dtype", "size", "variant"]
    quick_grids: list[common.Grid] = [
        {"dtype": {"float32"}, "size": {1, 100_000, 10_000_000}},
        {"dtype": {"float64"}, "size": {100_000}},
    ]
    version = "1"

    def setup(self, device, dtype, size, variant):
        common.require_profile(self.quick_grids, dict(device=device, dtype=dtype, size=size, variant=variant))
        self.cell = common.sqrt_cell(device, dtype, size, variant, "positive")
        self.sync = common.synchronizer(device)
        if self.cell.prepare is not None:
            self.cell.prepare()
        self.sync()

    def time_sqrt(self, device, dtype, size, variant):
        self.cell.call()
        self.sync()


class SqrtThreads(Timed):
    """Seconds per ``torch.sqrt(x, out=...)`` call on the CPU with one thread and with all cores.

    Sizes start at 100_000: below torch's parallel grain size (32768 elements) both
    thread counts run the same single-threaded loop.
    """

    params = [["cpu"], DTYPES, _MID_SIZES, THREADS]
    param_names = ["device", "dtype", "size", "threads"]
    quick_grids: list[common.Grid] = [{"dtype": {"float32"}, "size": {10_000_000}}]
    version = "1"

    def setup(self, device, dtype, size, threads):
        common.require_profile(self.quick_grids, dict(device=device, dtype=dtype, size=size, threads=threads))
        self.cell = common.sqrt_cell(device, dtype, size, "out", "positive", threads)

    def time_sqrt(self, device, dtype, size, threads):
        self.cell.call()


class SqrtDomain(Timed):
    """Seconds per ``torch.sqrt(x, out=...)`` call by input domain (negatives take the NaN path)."""

    params = [DEVICES, DTYPES, _MID_SIZES, DOMAINS]
    param_names = ["device", "dtype", "size", "domain"]
    quick_grids: list[common.Grid] = [{"dtype": {"float32"}, "size": {100_000}}]
    version = "2"

    def setup(self, device, dtype, size, domain):
        common.require_profile(self.quick_grids, dict(device=device, dtype=dtype, size=size, domain=domain))
        self.cell = common.sqrt_cell(device, dtype, size, "out", domain)
        self.sync = common.synchronizer(device)
        self.sync()

    def time_sqrt(self, device, dtype, size, domain):
        self.cell.call()
        self.sync()


def sample_grid(suite, sample_cell) -> dict[tuple, dict[str, list[float]] | str]:
    """Samples of every cell of ``suite``'s grid, or the reason a cell skips, in round-robin passes.

    On a shared machine memory bandwidth drifts over seconds, so a single window per cell
    would give each cell the noise of its own moment. ``suite.passes`` passes over the grid,
    each with its share of ``suite.budget``, spread every cell's samples over the whole
    measurement. One cell is alive at a time (``release_cells``), so memory stays one cell's.
    """
    budget = suite.budget.per_pass(suite.passes)
    outcomes: dict[tuple, dict[str, list[float]] | str] = {}
    for _ in range(suite.passes):
        for values in itertools.product(*suite.params):
            if isinstance(outcomes.get(values), str):
                continue
            cell = dict(zip(suite.param_names, values))
            try:
                common.require_profile(suite.quick_grids, cell)
                samples = sample_cell(**cell, budget=budget)
            except NotImplementedError as exc:
                outcomes[values] = str(exc)
                continue
            finally:
                common.release_cells()
            gathered = outcomes.setdefault(values, {})
            assert not isinstance(gathered, str)  # skipped cells were passed over above
            for case, seconds in samples.items():
                gathered.setdefault(case, []).extend(seconds)
    return outcomes


@dataclass(frozen=True)
class BandwidthSample:
    """Median seconds of one cell's sqrt and of the copy of the same bytes, sampled together."""

    sqrt_seconds: float
    copy_seconds: float
    nbytes: int


def bandwidth_samples(
    device: str, dtype: str, size: int, variant: str, budget: metrics.Budget
) -> dict[str, list[float]]:
    """Seconds of sqrt and of a plain copy of the same bytes, sampled alternately so load hits both alike."""
    cell = common.sqrt_cell(device, dtype, size, variant, "positive")
    cases = {"sqrt": metrics.Case(cell.call, cell.prepare), "copy": metrics.Case(cell.copy)}
    return metrics.sample_seconds(cases, common.synchronizer(device), budget)


class Bandwidth:
    """Effective bandwidth, elements/s and fraction of the copy roofline, all CPU cores.

    ``setup_cache`` samples the whole grid in one process (``sample_grid``), and the three
    ``track_*`` report from the same samples: consistent with each other, and a third of the cost.
    """

    params = [DEVICES, DTYPES, _BANDWIDTH_SIZES, VARIANTS]
    param_names = ["device", "dtype", "size", "variant"]
    # Every dtype's out= cell: the README's sqrt-vs-copy table comes from the quick profile too.
    quick_grids: list[common.Grid] = [
        {"size": {10_000_000}, "variant": {"out"}},
        {"dtype": {"float32"}, "size": {10_000_000}, "variant": {"allocating"}},
    ]
    budget = metrics.Budget(min_samples=12, max_samples=200, max_seconds=1.5)
    passes = 4
    timeout = 1200  # setup_cache measures the whole grid
    version = "1"

    def setup_cache(self):
        """Every cell's ``BandwidthSample``, or the reason it skips."""
        measured: dict[tuple, BandwidthSample | str] = {}
        for (device, dtype, size, variant), outcome in sample_grid(self, bandwidth_samples).items():
            if isinstance(outcome, str):
                measured[(device, dtype, size, variant)] = outcome
                continue
            nbytes = metrics.bytes_moved(size, common.torch_dtype(dtype).itemsize)
            measured[(device, dtype, size, variant)] = BandwidthSample(
                metrics.median(outcome["sqrt"]), metrics.median(outcome["copy"]), nbytes
            )
        return measured

    def setup(self, measured, device, dtype, size, variant):
        sample = measured[(device, dtype, size, variant)]
        if isinstance(sample, str):
            raise NotImplementedError(sample)
        self.sample = sample

    @common.unit("GB/s")
    def track_gbps(self, measured, device, dtype, size, variant):
        return metrics.gigabytes_per_second(self.sample.nbytes, self.sample.sqrt_seconds)

    @common.unit("elements/s")
    def track_elements_per_s(self, measured, device, dtype, size, variant):
        return metrics.elements_per_second(size, self.sample.sqrt_seconds)

    @common.unit("fraction")
    def track_roofline_fraction(self, measured, device, dtype, size, variant):
        return metrics.roofline_fraction(self.sample.copy_seconds, self.sample.sqrt_seconds)


def small_tensor_samples(
    device: str, dtype: str, variant: str, budget: metrics.Budget
) -> dict[str, list[float]]:
    """Seconds per call on a one-element tensor, timed in blocks of ``SmallTensor.calls_per_sample``."""
    cell = common.sqrt_cell(device, dtype, 1, variant, "positive")
    return metrics.sample_seconds(
        {"sqrt": metrics.Case(cell.call)}, common.synchronizer(device), budget, SmallTensor.calls_per_sample
    )


class SmallTensor:
    """Microseconds per call on a one-element tensor: the fixed cost of dispatch (and launch).

    Calls run back to back, 100 per timed block with one synchronize per block; the in-place
    variant re-roots the same positive element (it stays positive), so no copy is needed.
    The grid is sampled in passes like ``Bandwidth`` (``sample_grid``): on a shared VM the
    cost of a call flips between two levels for seconds at a time (docs/throughput.md).
    """

    params = [DEVICES, DTYPES, VARIANTS]
    param_names = ["device", "dtype", "variant"]
    quick_grids: list[common.Grid] = [{"dtype": {"float32"}}]
    budget = metrics.Budget(min_samples=20, max_samples=200, max_seconds=0.5)
    passes = 4
    calls_per_sample = 100
    version = "1"

    def setup_cache(self):
        """Every cell's median seconds per call, or the reason it skips."""
        return {
            values: outcome if isinstance(outcome, str) else metrics.median(outcome["sqrt"])
            for values, outcome in sample_grid(self, small_tensor_samples).items()
        }

    def setup(self, measured, device, dtype, variant):
        seconds = measured[(device, dtype, variant)]
        if isinstance(seconds, str):
            raise NotImplementedError(seconds)
        self.seconds = seconds

    @common.unit("us")
    def track_us_per_call(self, measured, device, dtype, variant):
        return metrics.microseconds(self.seconds)
