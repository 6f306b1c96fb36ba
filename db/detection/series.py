"""What makes up one benchmark series, and which of its points detection may use."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..schema.models import STATUS_OK, STATUS_SKIPPED
from ..taxonomy import Kind, kind_of


def usable_points(status: Sequence[str], versions: Sequence[str | None]) -> np.ndarray:
    """Mask of the points detection uses: status ok, and the benchmark's latest version.

    A new benchmark version measures something else, so the history restarts there.
    """
    latest = versions[-1] if len(versions) else None
    return np.array([s == "ok" and v == latest for s, v in zip(status, versions)], dtype=bool)


def params_kind(type_: str | None, unit: str | None, params: str | None) -> Kind:
    """The kind of a stored series, from its benchmark's type and unit and its params JSON text."""
    return kind_of(type_, unit, json.loads(params) if params else ())


def finite_samples(samples) -> list[float] | None:
    """Stored samples as floats, without the non-finite ones (stored as strings); None if none."""
    if not samples:
        return None
    values = [float(s) for s in samples if isinstance(s, int | float) and math.isfinite(s)]
    return values or None


# Column types of load_values (the others are Python objects: text, or None).
COLUMN_TYPES = {
    "run_id": np.int64,
    "benchmark_id": np.int64,
    "value": float,
    "ci_99_a": float,
    "ci_99_b": float,
}
# Run ids per IN (...) list: well under every driver's limit on bound parameters.
RUN_IDS_PER_QUERY = 5000


def load_values(
    session, run_ids: Sequence[int] | None = None, intervals: bool = False, measured_only: bool = False
) -> pd.DataFrame:
    """Stored result values of ``run_ids`` (every run when None) with their benchmark's name, version, unit, type.

    ``measured_only`` leaves out skipped cells (asv's NaN: nothing was measured; on a CPU
    runner, the two thirds of the grid that need a GPU).

    Columns: run_id, benchmark_id, benchmark, version, unit, type, params, status, value,
    samples (JSON text, decoded by :func:`decode_samples` where needed; None when
    none were stored) and, with ``intervals``, ci_99_a and ci_99_b. Rows come in
    no particular order. Only plain columns are read, so a full scan of millions of
    values stays a few seconds; ``run_ids`` reads those runs by the key's run prefix.
    """
    from sqlalchemy import Text, cast, select

    from ..schema.models import Benchmark, ResultValue

    columns = [
        ResultValue.run_id,
        ResultValue.benchmark_id,
        ResultValue.params,
        ResultValue.status,
        ResultValue.value,
        cast(ResultValue.samples, Text).label("samples"),  # decoded lazily, per series
    ]
    if intervals:
        columns += [ResultValue.ci_99_a, ResultValue.ci_99_b]
    names = ["run_id", "benchmark_id", "params", "status", "value", "samples", "ci_99_a", "ci_99_b"][
        : len(columns)
    ]
    connection = session.connection()
    statement = select(*columns)
    if measured_only:
        statement = statement.where(ResultValue.status != STATUS_SKIPPED)
    if run_ids is None:
        rows = _driver_rows(connection, statement)
    else:
        ids = sorted({int(run_id) for run_id in run_ids})
        rows = []
        for start in range(0, len(ids), RUN_IDS_PER_QUERY):
            chunk = ids[start : start + RUN_IDS_PER_QUERY]
            rows += _driver_rows(connection, statement.where(ResultValue.run_id.in_(chunk)))
    # Column-wise construction: DataFrame.from_records on millions of Row objects is ~10x slower.
    data = dict(zip(names, zip(*rows))) if rows else dict.fromkeys(names, ())
    # Text columns stay plain objects: pandas would infer a string dtype with NaN for None.
    frame = pd.DataFrame({name: _column(data[name], COLUMN_TYPES.get(name, object)) for name in names})
    benchmarks = connection.execute(
        select(Benchmark.id, Benchmark.name, Benchmark.version, Benchmark.unit, Benchmark.type).order_by(
            Benchmark.id
        )
    ).all()
    position = np.searchsorted(
        np.array([row[0] for row in benchmarks], dtype=np.int64), frame["benchmark_id"]
    )
    for index, name in enumerate(("benchmark", "version", "unit", "type"), start=1):
        described = np.array([row[index] for row in benchmarks], dtype=object)
        frame[name] = pd.Series(described[position], dtype=object)
    return frame


def _driver_rows(connection, statement) -> list[tuple]:
    """The rows as the database driver returns them (plain tuples).

    SQLAlchemy's Row objects would double the time of reading millions of values;
    the statement binds only integers and a status name of this code, so it is rendered with
    literal values.
    """
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _column(values, dtype) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=dtype), dtype=dtype)


def decode_samples(texts: Sequence[str | None]) -> list[list[float] | None]:
    """Stored samples (JSON text) as finite floats per point, with one JSON parse for all of them."""
    if all(text is None for text in texts):
        return [None] * len(texts)
    parsed = json.loads("[" + ",".join("null" if text is None else text for text in texts) + "]")
    return [finite_samples(samples) for samples in parsed]


@dataclass(frozen=True)
class Series:
    """One machine x environment x benchmark x parameter combination on one hardware: its points, oldest first."""

    key: tuple[str, str, str, str, str]  # machine, env_name, benchmark, params, hardware
    unit: str | None  # of the newest point's benchmark version
    type: str | None  # asv's benchmark type (time, track...) of that version
    columns: np.ndarray  # index of each point's run in its environment's runs
    ok: np.ndarray  # status ok
    benchmark_ids: np.ndarray  # the benchmark version of each point
    values: np.ndarray
    samples: np.ndarray  # JSON text per point (None: none stored)

    @property
    def kind(self) -> Kind:
        """What the series measures (see db/taxonomy.py)."""
        return params_kind(self.type, self.unit, self.key[3])

    def usable(self) -> np.ndarray:
        """Mask of the points detection uses (as :func:`usable_points`): ok, of the latest version."""
        if not len(self.ok):
            return self.ok
        return self.ok & (self.benchmark_ids == self.benchmark_ids[-1])


@dataclass(frozen=True)
class EnvironmentHistory:
    """The runs of one machine, hardware and environment (oldest first) and every series measured in them."""

    machine: str
    env_name: str
    hardware: str
    runs: pd.DataFrame  # queries.runs() columns of the runs that hold values, in run-time order
    series: list[Series]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.machine, self.env_name, self.hardware


def environment_histories(
    session,
    environments: set[tuple[str, str, str]] | None = None,
    tails: dict[tuple[str, str, str], int] | None = None,
    runs: pd.DataFrame | None = None,
) -> Iterator[EnvironmentHistory]:
    """The history of every (machine, env_name, hardware) in ``environments`` (all when None), in name order.

    ``tails``: for these environments, only their newest runs, this many. ``runs``:
    :func:`queries.runs` if the caller has it. Series are ordered by benchmark and
    parameters; their points by run time, then run id.
    """
    from ..queries import count_runs
    from ..queries import runs as query_runs

    runs = query_runs(session) if runs is None else runs  # ordered by run time, then run id
    if environments is not None:
        runs = runs[[key in environments for key in zip(runs["machine"], runs["env_name"], runs["hardware"])]]
    if tails:
        from_end = runs.groupby(["machine", "env_name", "hardware"]).cumcount(ascending=False)
        limit = [
            tails.get(key, len(runs)) for key in zip(runs["machine"], runs["env_name"], runs["hardware"])
        ]
        runs = runs[from_end.to_numpy() < np.array(limit, dtype=np.int64)]
    # Reading values run by run goes through the key index, one table lookup per value:
    # for most of the database, one scan of the table (then a filter) is cheaper.
    if len(runs) * 2 >= count_runs(session):
        values = load_values(session, measured_only=True)
        values = values[values["run_id"].isin(runs["run_id"])] if environments or tails else values
    else:
        values = load_values(session, run_ids=runs["run_id"].tolist(), measured_only=True)
    runs = runs[runs["run_id"].isin(values["run_id"].unique())].reset_index(drop=True)
    runs["environment"] = runs.groupby(["machine", "env_name", "hardware"], sort=True).ngroup()
    runs["column"] = runs.groupby("environment").cumcount()
    by_run = runs.set_index("run_id")
    environment = by_run["environment"].reindex(values["run_id"].to_numpy()).to_numpy()
    column = by_run["column"].reindex(values["run_id"].to_numpy()).to_numpy()
    benchmark_code = pd.factorize(values["benchmark"], sort=True)[0]
    params_code = pd.factorize(values["params"], sort=True)[0]
    order = np.lexsort((column, params_code, benchmark_code, environment))
    environment, column = environment[order], column[order]
    series_id = np.stack([environment, benchmark_code[order], params_code[order]])
    starts = np.flatnonzero(np.concatenate([[True], (series_id[:, 1:] != series_id[:, :-1]).any(axis=0)]))
    ends = np.append(starts[1:], len(order))
    arrays = {
        "benchmark": values["benchmark"].to_numpy()[order],
        "params": values["params"].to_numpy()[order],
        "unit": values["unit"].to_numpy()[order],
        "type": values["type"].to_numpy()[order],
        "ok": (values["status"] == STATUS_OK).to_numpy()[order],
        "benchmark_id": values["benchmark_id"].to_numpy()[order],
        "value": values["value"].to_numpy()[order],
        "samples": values["samples"].to_numpy()[order],
    }
    for env_index, env_runs in runs.groupby("environment", sort=True):
        machine, env_name, hardware = (env_runs[c].iloc[0] for c in ("machine", "env_name", "hardware"))
        first, last = np.searchsorted(environment[starts], [env_index, env_index + 1])
        series = [
            Series(
                key=(machine, env_name, arrays["benchmark"][a], arrays["params"][a], hardware),
                unit=arrays["unit"][b - 1],
                type=arrays["type"][b - 1],
                columns=column[a:b],
                ok=arrays["ok"][a:b],
                benchmark_ids=arrays["benchmark_id"][a:b],
                values=arrays["value"][a:b],
                samples=arrays["samples"][a:b],
            )
            for a, b in zip(starts[first:last], ends[first:last])
        ]
        yield EnvironmentHistory(machine, env_name, hardware, env_runs.reset_index(drop=True), series)
