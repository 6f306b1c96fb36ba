"""A plug-in implementation that flushes subnormals (FTZ/DAZ) as soon as it is imported,
as an extension built with ``-ffast-math`` does. Load it only in a subprocess."""

import torch

torch.set_flush_denormal(True)


def sqrt(x):
    return torch.sqrt(x)
