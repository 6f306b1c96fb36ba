"""``sqrtwatch export``: every stored result value as JSONL or CSV (DESIGN.md's export contract)."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema.models import Benchmark, Environment, Machine, ResultValue, Revision, Run

FIELDS = (
    "machine",
    "env_name",
    "commit_hash",
    "date",
    "benchmark",
    "params",
    "status",
    "value",
    "unit",
    "ci_99_a",
    "ci_99_b",
    "q_25",
    "q_75",
    "number",
    "repeat",
    "n_samples",
    "started_at",
    "duration",
    "benchmark_version",
)
_FLOAT_FIELDS = ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "duration")
# Rows fetched from the database at a time (the export streams; it never holds all values).
_BATCH = 10_000


class ExportError(ValueError):
    """A bad export request (for example an invalid regular expression)."""


def export_values(
    engine: Engine,
    stream: TextIO,
    fmt: str = "jsonl",
    benchmark: str | None = None,
    machine: str | None = None,
) -> int:
    """Write the stored values (filtered by a benchmark-name regex and a machine name); returns the count."""
    if fmt not in ("jsonl", "csv"):
        raise ExportError(f"unknown export format {fmt!r} (jsonl or csv)")
    pattern = _compile(benchmark)
    writer = _csv_writer(stream) if fmt == "csv" else None
    count = 0
    for record in iter_records(engine, pattern, machine):
        if writer is not None:
            writer.writerow(_csv_row(record))
        else:
            # ASCII-escaped: U+0085 or U+2028 inside a name would split the line
            # for readers that split on every Unicode line break.
            stream.write(json.dumps(record, allow_nan=False) + "\n")
        count += 1
    return count


def _compile(benchmark: str | None) -> re.Pattern | None:
    if benchmark is None:
        return None
    try:
        return re.compile(benchmark)
    except re.error as error:
        raise ExportError(f"invalid --benchmark regular expression {benchmark!r}: {error}") from error


def iter_records(engine: Engine, pattern: re.Pattern | None, machine: str | None) -> Iterator[dict[str, Any]]:
    """Export records in a stable order: commit date, commit, machine, env, run, benchmark, asv param order."""
    with engine.connect() as connection:
        benchmark_ids = _matching_benchmarks(connection, pattern)
        statement = (
            sa.select(
                Machine.name,
                Environment.name,
                Revision.commit_hash,
                Revision.date,
                Benchmark.name,
                ResultValue.params,
                ResultValue.status,
                ResultValue.value,
                Benchmark.unit,
                ResultValue.ci_99_a,
                ResultValue.ci_99_b,
                ResultValue.q_25,
                ResultValue.q_75,
                ResultValue.number,
                ResultValue.repeat,
                ResultValue.n_samples,
                ResultValue.started_at,
                ResultValue.duration,
                Benchmark.version,
            )
            .select_from(ResultValue)
            .join(Run, Run.id == ResultValue.run_id)
            .join(Machine, Machine.id == Run.machine_id)
            .join(Environment, Environment.id == Run.environment_id)
            .join(Revision, Revision.id == Run.revision_id)
            .join(Benchmark, Benchmark.id == ResultValue.benchmark_id)
            .order_by(
                Revision.date,
                Revision.commit_hash,
                Machine.name,
                Environment.name,
                Run.measured_at,  # several runs of one commit: in the order they ran
                Benchmark.name,
                Benchmark.version,
                ResultValue.param_index,
                ResultValue.params,
            )
        )
        if benchmark_ids is not None:
            statement = statement.where(ResultValue.benchmark_id.in_(benchmark_ids))
        if machine is not None:
            statement = statement.where(Machine.name == machine)
        result = connection.execution_options(yield_per=_BATCH).execute(statement)
        for row in result:
            record = dict(zip(FIELDS, row))
            record["params"] = json.loads(record["params"])
            record["benchmark_version"] = record["benchmark_version"] or None
            for name in _FLOAT_FIELDS:
                record[name] = _finite_or_text(record[name])
            yield record


def _matching_benchmarks(connection: sa.Connection, pattern: re.Pattern | None) -> list[int] | None:
    # The regex runs in Python (portable; SQLite has no REGEXP) over the few benchmark names.
    if pattern is None:
        return None
    rows = connection.execute(sa.select(Benchmark.id, Benchmark.name))
    return [row_id for row_id, name in rows if pattern.search(name)]


def _finite_or_text(value: float | None) -> float | str | None:
    """Non-finite numbers as the strings "NaN", "inf", "-inf" so that the output is strict JSON."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _csv_writer(stream: TextIO) -> csv.writer:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(FIELDS)
    return writer


def _csv_row(record: dict[str, Any]) -> list[Any]:
    # params as compact JSON text; missing values as empty cells.
    row = []
    for name in FIELDS:
        value = record[name]
        if name == "params":
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        row.append("" if value is None else value)
    return row
