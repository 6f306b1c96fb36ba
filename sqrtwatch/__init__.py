"""sqrtwatch: continuous performance and accuracy regression tracking for torch.sqrt."""

__version__ = "0.1.0"
