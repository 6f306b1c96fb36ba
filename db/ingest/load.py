"""Write parsed asv results into the database, idempotently, inside the caller's transaction.

Every row is keyed by its natural key; inserts go through the dialect's
``INSERT ... ON CONFLICT`` so that re-loading a file changes nothing and two
loaders racing on the same keys both succeed.

A run is keyed by machine, environment, commit and ``measured_at``, the latest
``started_at`` in its file. asv keeps in a rewritten results file the values of
benchmarks it did not run again; a run owns only the values measured after the
previous run of the same key prefix (``started_at`` above that run's
``measured_at``), so such carried-over values are not counted twice.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..schema.models import (
    AccuracyResult,
    Benchmark,
    Environment,
    IngestedFile,
    Machine,
    ResultValue,
    Revision,
    Run,
    utcnow,
)
from .asv_results import ParsedResults, SuiteBenchmark, default_type_and_unit
from .env_names import stored_env_name
from .run_context import RunContext, hardware_label
from .value_rows import BenchmarkRows, ValueRows, write_values


@dataclass(frozen=True)
class FileRecord:
    """Where a results file came from and what it looked like (for skipping it next time)."""

    path: str  # absolute path of the results file
    relative: str  # "<machine dir>/<file name>", relative to the ingested directory
    stat_signature: str
    content_hash: str


@dataclass(frozen=True)
class KnownFiles:
    """What earlier ingests loaded: each file's signature by path, and the run of each content."""

    by_path: dict[str, tuple[str, str]]  # path -> (stat signature, content hash)
    run_by_hash: dict[str, int]


def dialect_insert(connection: sa.Connection, model) -> Any:
    """``INSERT`` for ``model`` with ``on_conflict_*`` support (SQLite or PostgreSQL)."""
    return dialect_insert_for(connection.dialect.name, model)


def dialect_insert_for(name: str, model) -> Any:
    """``INSERT`` for ``model`` in the dialect called ``name``."""
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model)
    raise NotImplementedError(f"sqrtwatch supports SQLite and PostgreSQL, not {name}")


def get_or_create(connection: sa.Connection, model, key: dict[str, Any], values: dict[str, Any]) -> int:
    """The id of the ``model`` row with natural ``key``, inserted with ``values`` if absent."""
    return get_or_insert(connection, model, key, values)[0]


def get_or_insert(
    connection: sa.Connection, model, key: dict[str, Any], values: dict[str, Any]
) -> tuple[int, bool]:
    """Like :func:`get_or_create`, and whether this call inserted the row."""
    query = _select_id(model, tuple(key))
    row_id = connection.execute(query, key).scalar()
    if row_id is not None:
        return row_id, False
    row_id = connection.execute(
        _insert_returning_id(connection.dialect.name, model), {**key, **values}
    ).scalar()
    if row_id is not None:
        return row_id, True
    # Another writer inserted it between our select and insert.
    return connection.execute(query, key).scalar_one(), False


def update_by_id(connection: sa.Connection, model, row_id: int, values: dict[str, Any]) -> None:
    """Set ``values`` on the ``model`` row ``row_id``."""
    connection.execute(_update_by_id(model), {"row_id": row_id, **values})


# Statements are built once and executed with parameters: building SQLAlchemy
# constructs per file cost more than executing them (per-file ingest overhead).
@functools.cache
def _select_id(model, key_names: tuple[str, ...]) -> sa.Select:
    return sa.select(model.id).where(*(getattr(model, name) == sa.bindparam(name) for name in key_names))


@functools.cache
def _insert_returning_id(dialect_name: str, model) -> Any:
    return dialect_insert_for(dialect_name, model).on_conflict_do_nothing().returning(model.id)


@functools.cache
def _update_by_id(model) -> sa.Update:
    return sa.update(model).where(model.id == sa.bindparam("row_id"))


@functools.cache
def _upsert_ingested_file(dialect_name: str) -> Any:
    stmt = dialect_insert_for(dialect_name, IngestedFile)
    columns = ("stat_signature", "content_hash", "run_id", "ingested_at")
    return stmt.on_conflict_do_update(index_elements=["path"], set_={c: stmt.excluded[c] for c in columns})


@functools.cache
def _latest_run_of_environment() -> sa.Select:
    return sa.select(sa.func.max(Run.measured_at)).where(Run.environment_id == sa.bindparam("environment_id"))


@functools.cache
def _neighbour_runs() -> sa.Select:
    """measured_at and id of the runs that share a run's machine, environment and commit."""
    return sa.select(Run.measured_at, Run.id).where(
        Run.machine_id == sa.bindparam("machine_id"),
        Run.environment_id == sa.bindparam("environment_id"),
        Run.revision_id == sa.bindparam("revision_id"),
    )


class BenchmarkIds:
    """Benchmark ids by (name, version), cached across files once their transaction committed."""

    def __init__(self) -> None:
        self._committed: dict[tuple[str, str], int] = {}
        self._pending: dict[tuple[str, str], int] = {}

    def get(
        self,
        connection: sa.Connection,
        name: str,
        version: str | None,
        params_key: str,
        suite: dict[str, SuiteBenchmark],
    ) -> int:
        """The id of benchmark ``name`` at ``version``; ``params_key`` of one of its values names its parameters."""
        key = (name, version or "")
        row_id = self._committed.get(key) or self._pending.get(key)
        if row_id is None:
            # The names its rows use (benchmarks.json's, or asv's param1, ...).
            param_names = list(json.loads(params_key))
            attributes = benchmark_attributes(name, version, suite) | {"param_names": param_names}
            row_id = get_or_create(connection, Benchmark, {"name": name, "version": key[1]}, attributes)
            self._pending[key] = row_id
        return row_id

    def commit(self) -> None:
        self._committed.update(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()


def benchmark_attributes(name: str, version: str | None, suite: dict[str, SuiteBenchmark]) -> dict[str, Any]:
    """Type, unit, source hash and flags of a benchmark version, from benchmarks.json if there."""
    known = suite.get(name)
    if known is None:
        type_, unit = default_type_and_unit(name)
        return {"type": type_, "unit": unit, "source_hash": None, "in_suite": False, "stale": False}
    current = version is None or version == known.version
    return {
        "type": known.type,
        "unit": known.unit,
        "source_hash": known.source_hash if current else None,
        "in_suite": True,
        "stale": not current,
    }


def mark_suite(connection: sa.Connection, suite: dict[str, SuiteBenchmark]) -> None:
    """Flag versions that benchmarks.json no longer has as stale (renamed/removed ones stay)."""
    rows = [{"b_name": b.name, "b_version": b.version or ""} for b in suite.values() if b.version]
    if rows:
        connection.execute(
            sa.update(Benchmark)
            .where(Benchmark.name == sa.bindparam("b_name"))
            # Results without a version ("") predate versions: asv accepts them.
            .values(
                in_suite=True,
                stale=sa.and_(Benchmark.version != "", Benchmark.version != sa.bindparam("b_version")),
            ),
            rows,
        )


def load_results(
    connection: sa.Connection,
    parsed: ParsedResults,
    rows: ValueRows,
    context: RunContext | None,
    machine_info: dict[str, str | None],
    suite: dict[str, SuiteBenchmark],
    benchmark_ids: BenchmarkIds,
    record: FileRecord,
) -> int:
    """Store one parsed results file (its values as ``rows``) and its context; returns the run id."""
    machine_id = _machine(connection, parsed, context, machine_info)
    revision_id = get_or_create(
        connection, Revision, {"commit_hash": parsed.commit_hash}, {"date": parsed.date}
    )
    measured_at = rows.measured_at
    environment_id = _environment(connection, machine_id, parsed, context, measured_at)
    run_values = {
        "results_file": record.relative,
        "env_vars": parsed.env_vars,
        "durations": parsed.durations,
        "hardware": hardware_label(None if context is None else context.raw, parsed.machine_params),
        "ingested_at": utcnow(),
        **_run_context(context),
    }
    key = {
        "machine_id": machine_id,
        "environment_id": environment_id,
        "revision_id": revision_id,
        "measured_at": measured_at,
    }
    run_id, created = get_or_insert(connection, Run, key, run_values)
    if not created:
        update_by_id(connection, Run, run_id, run_values)
    after = _own_values_after(connection, key, run_id)

    def benchmark_id(group: BenchmarkRows) -> int:
        return benchmark_ids.get(connection, group.benchmark, group.version, group.params_key, suite)

    write_values(connection, run_id, rows, benchmark_id, after)
    if context is not None:
        _accuracy(connection, run_id, context)
    file_values = {
        "path": record.path,
        "stat_signature": record.stat_signature,
        "content_hash": record.content_hash,
        "run_id": run_id,
        "ingested_at": utcnow(),
    }
    connection.execute(_upsert_ingested_file(connection.dialect.name), file_values)
    return run_id


def _machine(
    connection: sa.Connection,
    parsed: ParsedResults,
    context: RunContext | None,
    machine_info: dict[str, str | None],
) -> int:
    machine_id = get_or_create(connection, Machine, {"name": parsed.machine}, {})
    # machine.json first; results files repeat the same fields in their params.
    fields = {
        key: machine_info.get(key) or _as_text(parsed.machine_params.get(key))
        for key in ("arch", "cpu", "num_cpu", "os", "ram")
    }
    values: dict[str, Any] = {
        **fields,
        "machine_json": {k: v for k, v in machine_info.items() if v is not None},
    }
    if context is not None:
        values |= {
            "cpu_model": context.cpu_model,
            "cpu_count": context.cpu_count,
            "cuda_devices": context.cuda_devices,
            "mps_device": context.mps_device,
        }
    update_by_id(connection, Machine, machine_id, values)
    return machine_id


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _own_values_after(connection: sa.Connection, key: dict[str, Any], run_id: int) -> int | None:
    """The ``started_at`` a value of this run must pass to be its own (None: every value is).

    Values at or before the previous run's ``measured_at`` were measured by that run
    and carried over by asv; the next run's copies of this run's values go too.
    """
    if not key["measured_at"]:
        return None
    others = [
        (at, other) for at, other in connection.execute(_neighbour_runs(), key) if other != run_id and at
    ]
    later = [(at, other) for at, other in others if at > key["measured_at"]]
    if later:
        connection.execute(
            sa.delete(ResultValue).where(
                ResultValue.run_id == min(later)[1], ResultValue.started_at <= key["measured_at"]
            )
        )
    earlier = [at for at, _ in others if at < key["measured_at"]]
    return max(earlier) if earlier else None


def _environment(
    connection: sa.Connection,
    machine_id: int,
    parsed: ParsedResults,
    context: RunContext | None,
    measured_at: int,
) -> int:
    # Runs of one interpreter share a name whatever the checkout path (see env_names).
    name = stored_env_name(parsed.env_name, parsed.python, None if context is None else context.raw)
    environment_id = get_or_create(
        connection,
        Environment,
        {"machine_id": machine_id, "name": name},
        {"python": parsed.python, "requirements": parsed.requirements},
    )
    if context is not None and _is_latest_run(connection, environment_id, measured_at):
        # The environment shows the torch build of its most recent run.
        update_by_id(
            connection,
            Environment,
            environment_id,
            {
                "python": parsed.python,
                "requirements": parsed.requirements,
                "torch_version": context.torch_version,
                "torch_git_hash": context.torch_git_hash,
                "build_variant": context.build_variant,
                "cpu_isa": context.cpu_isa,
                "math_libraries": context.math_libraries,
            },
        )
    return environment_id


def _is_latest_run(connection: sa.Connection, environment_id: int, measured_at: int) -> bool:
    latest = connection.execute(_latest_run_of_environment(), {"environment_id": environment_id}).scalar()
    return latest is None or measured_at >= latest


def _run_context(context: RunContext | None) -> dict[str, Any]:
    if context is None:
        return {}
    return {
        "torch_version": context.torch_version,
        "torch_git_hash": context.torch_git_hash,
        "build_variant": context.build_variant,
        "cpu_isa": context.cpu_isa,
        "threads": context.threads,
        "profile": context.profile,
        "sqrtwatch_commit": context.sqrtwatch_commit,
        "context": context.raw,
    }


def _accuracy(connection: sa.Connection, run_id: int, context: RunContext) -> None:
    rows = [{"run_id": run_id, **report.__dict__} for report in context.accuracy]
    if not rows:
        return
    stmt = dialect_insert(connection, AccuracyResult)
    key = ["run_id", "impl", "dtype", "device", "mode"]
    stmt = stmt.on_conflict_do_update(
        index_elements=key,
        set_={column: stmt.excluded[column] for column in rows[0] if column not in key},
    )
    connection.execute(stmt, rows)


def known_files(connection: sa.Connection) -> KnownFiles:
    """Every file already ingested: signatures by path, and the run each content went to."""
    query = sa.select(
        IngestedFile.path, IngestedFile.stat_signature, IngestedFile.content_hash, IngestedFile.run_id
    )
    by_path, run_by_hash = {}, {}
    for path, stat, digest, run_id in connection.execute(query):
        by_path[path] = (stat, digest)
        run_by_hash[digest] = run_id
    return KnownFiles(by_path, run_by_hash)


def record_known_file(
    connection: sa.Connection, path: str, stat_signature: str, content_hash: str, run_id: int
) -> None:
    """Remember a file whose content is already stored (a copy, a touch, an archived run)."""
    connection.execute(
        _upsert_ingested_file(connection.dialect.name),
        {
            "path": path,
            "stat_signature": stat_signature,
            "content_hash": content_hash,
            "run_id": run_id,
            "ingested_at": utcnow(),
        },
    )
