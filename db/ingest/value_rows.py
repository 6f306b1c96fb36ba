"""A results file's values as the ``result_values`` rows they become, and their insertion.

The rows are built column by column where the file is parsed (a worker process
for large ingests), so that the writer, which every file waits for, only pairs
them with their run and benchmark ids at C speed and hands them to the driver.
Skipped cells (asv's NaN: a device this runner lacks, a cell outside the profile)
are two thirds of a CPU runner's grid and carry no measurement: they are written
with the seven columns they have, which halves their cost in SQLite.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..schema.models import STATUS_SKIPPED, ResultValue
from .asv_results import ParsedValue

# Every column a value row sets, after run_id and benchmark_id; a skipped cell only the SKIPPED ones.
MEASURED = (
    "params",
    "param_index",
    "status",
    "value",
    "ci_99_a",
    "ci_99_b",
    "q_25",
    "q_75",
    "number",
    "repeat",
    "n_samples",
    "samples",
    "started_at",
    "duration",
)
SKIPPED = ("params", "param_index", "status", "started_at", "duration")
_UPDATED = MEASURED[1:]  # a re-loaded cell takes every column of its new row (NULL where a skip has none)


@dataclass
class BenchmarkRows:
    """The rows of one benchmark version in one file, column by column (they pickle fast so)."""

    benchmark: str
    version: str | None
    params_key: str  # of one of its values: names the benchmark's parameters
    measured: list[list] = field(default_factory=lambda: [[] for _ in MEASURED])
    skipped: list[list] = field(default_factory=lambda: [[] for _ in SKIPPED])


@dataclass
class ValueRows:
    """A file's values grouped by benchmark version, ready to insert."""

    groups: list[BenchmarkRows]
    count: int
    measured_at: int  # the latest started_at (ms); 0 when none is recorded

    @classmethod
    def from_values(cls, values: list[ParsedValue]) -> ValueRows:
        """The rows of ``values``, as the parser gives them: each benchmark's values one after the other."""
        if not values:
            return cls([], 0, 0)
        columns = list(zip(*values))  # ParsedValue's fields, column by column
        started = [at for at in columns[14] if at is not None]
        groups = []
        for start, stop in _runs_of_equal(list(zip(columns[0], columns[1]))):
            first = values[start]
            group = BenchmarkRows(first.benchmark, first.version, first.params_key)
            skipped = [i for i in range(start, stop) if columns[4][i] == STATUS_SKIPPED]
            if not skipped:
                group.measured = _measured(columns, range(start, stop))
            elif len(skipped) == stop - start:
                group.skipped = [list(columns[i][start:stop]) for i in (2, 3, 4, 14, 15)]
            else:
                kept = set(skipped)
                group.measured = _measured(columns, [i for i in range(start, stop) if i not in kept])
                group.skipped = [[columns[c][i] for i in skipped] for c in (2, 3, 4, 14, 15)]
            groups.append(group)
        return cls(groups, len(values), max(started, default=0))


def _runs_of_equal(keys: list[tuple]) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal consecutive keys."""
    bounds = [0, *(i for i in range(1, len(keys)) if keys[i] != keys[i - 1]), len(keys)]
    return list(itertools.pairwise(bounds))


def _measured(columns: list[tuple], rows: range | list[int]) -> list[list]:
    """MEASURED columns of ``rows``: ParsedValue's fields from params_key on, samples as JSON text."""
    if isinstance(rows, range):
        picked = [list(column[rows.start : rows.stop]) for column in columns]
    else:
        picked = [[column[i] for i in rows] for column in columns]
    picked[13] = [None if samples is None else json.dumps(samples) for samples in picked[13]]
    return picked[2:]


def write_values(
    connection: sa.Connection,
    run_id: int,
    rows: ValueRows,
    benchmark_id: Callable[[BenchmarkRows], int],
    after: int | None,
) -> None:
    """Upsert ``rows`` as values of run ``run_id``; with ``after``, only those started after it (ms).

    Straight to the driver's executemany: SQLAlchemy's per-row parameter processing
    would cost most of the ingest time. Values are already plain Python types.
    """
    for group in rows.groups:
        ids = (run_id, benchmark_id(group))
        for columns, names in ((group.measured, MEASURED), (group.skipped, SKIPPED)):
            if not columns[0]:
                continue
            tuples: Iterable[tuple] = zip(*(itertools.repeat(i) for i in ids), *columns)
            if after is not None:
                tuples = [row for row in tuples if (row[-2] or 0) > after]
            sql, order = _upsert_sql(connection.dialect, names)
            parameters = _as_parameters(tuples, order)
            if parameters:
                connection.exec_driver_sql(sql, parameters)


def _as_parameters(rows: Iterable[tuple], order: tuple[str, ...] | None) -> list:
    """Rows in the order the compiled statement takes them (named parameters: dicts)."""
    if order is None:
        return list(rows)
    return [dict(zip(order, row)) for row in rows]


@functools.lru_cache(maxsize=8)
def _upsert_sql(dialect, names: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
    """The value upsert for these columns as driver SQL; the column order of each row if named."""
    from .load import dialect_insert_for

    columns = ("run_id", "benchmark_id", *names)
    stmt = dialect_insert_for(dialect.name, ResultValue)
    # The file is the truth: a benchmark re-run on the same commit replaces its values.
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "benchmark_id", "params"],
        set_={column: stmt.excluded[column] for column in _UPDATED},
    )
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    if not compiled.positional:
        return compiled.string, columns
    assert tuple(compiled.positiontup or ()) == columns, compiled.positiontup
    return compiled.string, None
