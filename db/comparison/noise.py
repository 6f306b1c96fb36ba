"""Run-to-run noise of the series behind each row of ``sqrtwatch compare``.

A row compares one run with another, so the samples inside each run (the
Mann-Whitney test) say nothing of how much the same code moves between runs
(memory bandwidth of a shared runner drifts by 10 % and more). Each side's
series (its machine, environment, benchmark and parameters) has that noise
in its history: the robust standard deviation of its log values from one run
to the next (:func:`sqrtwatch.db.detection.changepoints.run_noise`, the estimator change
detection uses), over the ``window`` runs before the compared one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..detection.changepoints import run_noise
from ..detection.series import load_values

# Runs of a series' history that its noise is estimated from (as many as detection confirms a change on).
NOISE_WINDOW = 20
# Fewer earlier points than this and the noise is unknown: 4 successive ratios are the least
# that a median absolute deviation can rest on.
MIN_NOISE_RUNS = 5


def attach_noise(session, cells: list[dict], window: int = NOISE_WINDOW) -> None:
    """Set ``noise`` (robust sd of the log value between runs, None if unknown) and ``noise_runs`` on every cell.

    ``cells`` are the records :mod:`sqrtwatch.db.comparison.compare` chose on both sides (run_id, machine,
    env_name, benchmark, params, version, status, value). The history of a cell is
    its series' ok, positive values of the same benchmark version in the ``window``
    runs of its environment before the cell's own run, oldest first.
    """
    from sqlalchemy import select, tuple_

    from ..queries import RUN_TIME
    from ..schema.models import Environment, Machine, Revision, Run

    for record in cells:
        record["noise"], record["noise_runs"] = None, 0
    environments = {(record["machine"], record["env_name"]) for record in cells}
    if not environments:
        return
    statement = (
        select(Run.id, Machine.name, Environment.name)
        .join(Machine, Machine.id == Run.machine_id)
        .join(Environment, Environment.id == Run.environment_id)
        .join(Revision, Revision.id == Run.revision_id)
        .where(tuple_(Machine.name, Environment.name).in_(sorted(environments)))
        .order_by(RUN_TIME, Run.id)  # the order compare ranks runs in
    )
    runs = pd.DataFrame(session.execute(statement).all(), columns=["run_id", "machine", "env_name"])
    runs["position"] = runs.groupby(["machine", "env_name"]).cumcount()
    position = dict(zip(runs["run_id"], runs["position"]))
    run_ids_by_env = {key: group["run_id"].tolist() for key, group in runs.groupby(["machine", "env_name"])}
    wanted: set[int] = set()
    for record in cells:
        end = position[record["run_id"]]
        env_runs = run_ids_by_env[(record["machine"], record["env_name"])]
        wanted.update(env_runs[max(0, end - window) : end])
    if not wanted:
        return
    history = load_values(session, sorted(wanted)).merge(runs, on="run_id")
    history = history[(history["status"] == "ok") & (history["value"] > 0) & np.isfinite(history["value"])]
    history = history.sort_values("position", kind="stable").reset_index(drop=True)
    # Plain arrays and one index per series: a pandas filter per cell costs ~5 ms, 5 s for 1,000 cells.
    series = history.groupby(["machine", "env_name", "benchmark", "params"], sort=False).indices
    positions, versions = history["position"].to_numpy(), history["version"].to_numpy()
    values = history["value"].to_numpy(dtype=float)
    for record in cells:
        points = series.get((record["machine"], record["env_name"], record["benchmark"], record["params"]))
        if points is None:
            continue
        end = position[record["run_id"]]
        earlier = points[(positions[points] >= end - window) & (positions[points] < end)]
        earlier = earlier[versions[earlier] == record["version"]]
        record["noise_runs"] = len(earlier)
        if len(earlier) >= MIN_NOISE_RUNS:
            record["noise"] = run_noise(np.log(values[earlier]))


def difference_noise(base_noise: float | None, head_noise: float | None) -> float | None:
    """Standard deviation of log(head / base) from run-to-run noise alone; None if either side's is unknown."""
    if base_noise is None or head_noise is None:
        return None
    return math.hypot(base_noise, head_noise)
