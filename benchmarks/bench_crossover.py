"""CPU vs GPU crossover: below which size is the GPU not worth the trip?

The GPU side pays what a user with a CPU tensor pays: host-to-device copy, sqrt, and the
copy back (pageable memory, as tensors usually are). ``track_speedup_vs_cpu`` > 1 means
the round trip beats ``torch.sqrt`` on the CPU (all cores); the crossover is where it
passes 1. Both sides are sampled alternately in one process.
"""

import functools

from . import common, metrics
from .common import DEVICES, DTYPES, SIZES, Timed

try:
    import torch
except ImportError:  # pragma: no cover - torch is a hard dependency of the project
    torch = None  # type: ignore[assignment]  # only where asv lists the suite without torch

GPU_DEVICES = [device for device in DEVICES if device != "cpu"]


class RoundTrip:
    """CPU input -> device -> sqrt -> CPU result, and the CPU-only sqrt it competes with."""

    def __init__(self, device: str, dtype: str, size: int):
        self.device = device
        self.x = common.input_tensor(dtype, size, "positive", "cpu")
        self.sync = common.synchronizer(device)

    def gpu(self):
        """Copy in, square root, copy out, waiting for the device."""
        result = torch.sqrt(self.x.to(self.device)).to("cpu")
        self.sync()
        return result

    def cpu(self):
        """The CPU's own square root of the same tensor."""
        return torch.sqrt(self.x)


@functools.cache
def _round_trip(device: str, dtype: str, size: int) -> RoundTrip:
    """The round trip for this cell, skipped where the device or dtype is missing (cached)."""
    common.require_device(device)
    common.require_dtype_on_device(dtype, device)
    trip = RoundTrip(device, dtype, size)
    trip.gpu()  # warm-up: device context, allocator, kernels
    return trip


_QUICK_GRIDS: list[common.Grid] = [{"dtype": {"float32"}, "size": {1_000, 100_000, 10_000_000}}]


class CpuVsGpu(Timed):
    """Seconds per round trip through the GPU, per size."""

    params = [GPU_DEVICES, DTYPES, SIZES]
    param_names = ["device", "dtype", "size"]
    quick_grids = _QUICK_GRIDS
    version = "1"

    def setup(self, device, dtype, size):
        common.require_profile(self.quick_grids, dict(device=device, dtype=dtype, size=size))
        self.trip = _round_trip(device, dtype, size)

    def time_roundtrip(self, device, dtype, size):
        self.trip.gpu()


class CpuVsGpuSpeedup:
    """CPU sqrt time over GPU round-trip time (> 1: the GPU is worth it at this size)."""

    params = [GPU_DEVICES, DTYPES, SIZES]
    param_names = ["device", "dtype", "size"]
    quick_grids = _QUICK_GRIDS
    budget = metrics.Budget(min_samples=10, max_samples=200, max_seconds=1.5)
    timeout = 180
    version = "1"

    def setup(self, device, dtype, size):
        common.require_profile(self.quick_grids, dict(device=device, dtype=dtype, size=size))
        trip = _round_trip(device, dtype, size)
        cases = {"cpu": metrics.Case(trip.cpu), "gpu": metrics.Case(trip.gpu)}
        samples = metrics.sample_seconds(cases, trip.sync, self.budget)
        self.speedup = metrics.speedup(metrics.median(samples["cpu"]), metrics.median(samples["gpu"]))

    @common.unit("ratio")
    def track_speedup_vs_cpu(self, device, dtype, size):
        return self.speedup
