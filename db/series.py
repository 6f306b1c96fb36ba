"""What makes up one benchmark series, and which of its points detection may use."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def usable_points(status: Sequence[str], versions: Sequence[str | None]) -> np.ndarray:
    """Mask of the points detection uses: status ok, and the benchmark's latest version.

    A new benchmark version measures something else, so the history restarts there.
    """
    latest = versions[-1] if len(versions) else None
    return np.array([s == "ok" and v == latest for s, v in zip(status, versions)], dtype=bool)
