"""Throughput of torch.sqrt (placeholder slice; the full grid replaces it)."""

import torch


class TimeSqrt:
    params = [["float32"], [1000, 100000]]
    param_names = ["dtype", "size"]

    def setup(self, dtype, size):
        self.x = torch.rand(size, dtype=getattr(torch, dtype)) + 1

    def time_sqrt(self, dtype, size):
        torch.sqrt(self.x)
