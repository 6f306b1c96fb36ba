"""Seconds per call of exactly the sqrt-computing operator calls a traced step made.

``sqrtwatch trace MODULE:FUNC --format json > FILE`` records them; ``sqrtwatch run --workload
FILE`` passes FILE's path in ``SQRTWATCH_WORKLOAD``, read here at import to name the cells.
Without it (or with an unreadable file) the class has one cell, ``none``, that skips with
the reason, so the suite always imports.
"""

import os

from . import common
from .common import Timed

WORKLOAD_ENV_VAR = "SQRTWATCH_WORKLOAD"

try:  # the suite must import even where sqrtwatch is not installed (plain asv use)
    from sqrtwatch.models import workload
except ImportError:
    workload = None  # type: ignore[assignment]  # cells skip without sqrtwatch


def _labels() -> list[str]:
    path = os.environ.get(WORKLOAD_ENV_VAR, "")
    if not path or workload is None:
        return ["none"]
    try:
        return workload.labels(path) or ["none"]
    except (workload.WorkloadError, ValueError):  # setup reports the problem on the "none" cell
        return ["none"]


CALLS = _labels()


class Workload(Timed):
    """Seconds per call of each recorded operator call group, on fresh inputs of its shapes."""

    params = [CALLS]
    param_names = ["call"]
    version = "1"

    def setup(self, call):
        path = os.environ.get(WORKLOAD_ENV_VAR, "")
        if call == "none":
            if not path:
                raise NotImplementedError("no workload: run `sqrtwatch run --workload FILE`")
            if workload is None:
                raise NotImplementedError("sqrtwatch is not installed in this environment")
            workload.load_workload(path)  # raises with the file's problem
            raise NotImplementedError(f"{path}: the workload records no sqrt-computing call")
        recorded = {c.label: c for c in workload.load_workload(path)}
        entry = recorded[call]
        common.require_device(entry.device)
        self.call = workload.replay(entry)
        self.sync = common.synchronizer(entry.device)
        self.call()  # warm-up: first-call costs stay out of the timing
        self.sync()

    def time_call(self, call):
        self.call()
        self.sync()
