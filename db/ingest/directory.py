"""``sqrtwatch ingest``: load an asv results directory (and context files) into the database.

Each results file is one transaction, retried while another writer holds the
lock; a bad file is reported with its path and reason and the others still
load. Content already loaded (the sha256 of the results file and its context
file) is never loaded again, wherever the file lies: a copy, a touch or an
archived run is skipped after hashing; the very file hashed before (same
absolute path, device, inode, size, mtime and ctime) is skipped unread. The
archive that ``sqrtwatch run`` keeps (``sqrtwatch-archive/``, see
:mod:`sqrtwatch.archive`) is read with the rest. Large directories are parsed in
worker processes while this process writes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import Engine

from sqrtwatch.archive import ARCHIVE_DIR_NAME
from sqrtwatch.context import CONTEXT_DIR_NAME

from ..schema.engine import refresh_statistics, write_connection
from ..worker_pool import worker_pool
from .asv_results import (
    ParsedResults,
    ResultsFormatError,
    SuiteBenchmark,
    load_json_bytes,
    load_json_file,
    parse_benchmarks_json,
    parse_machine_json,
    parse_results,
    read_file_bytes,
)
from .load import (
    BenchmarkIds,
    FileRecord,
    KnownFiles,
    known_files,
    load_results,
    mark_suite,
    record_known_file,
)
from .run_context import RunContext, context_file_for, parse_context
from .value_rows import ValueRows

SIDE_FILES = {"machine.json", "benchmarks.json"}
# Transient lock conflicts (SQLite busy beyond the timeout, PostgreSQL deadlock
# or serialization failure) are retried this many times with growing pauses.
RETRIES = 5
RETRY_PAUSE_S = 0.5
_TRANSIENT_SQLSTATES = {"40P01", "40001", "55P03"}
# Parsing moves to worker processes from this many files on (starting them costs ~1 s).
POOL_MIN_FILES = 50
MAX_PARSE_WORKERS = 4
# Files parsed ahead of the writer (bounds memory).
PARSE_AHEAD = 8


@dataclass(frozen=True)
class IngestError:
    """A file that could not be loaded, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingestion did."""

    files_loaded: int = 0
    files_unchanged: int = 0
    values_loaded: int = 0
    errors: list[IngestError] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the console."""
        text = (
            f"loaded {self.values_loaded} values from {self.files_loaded} results files; "
            f"{self.files_unchanged} unchanged files skipped"
        )
        if self.errors:
            text += f"; {len(self.errors)} files with errors"
        return text


@dataclass(frozen=True)
class MachineDir:
    """A directory of asv results files for one machine, inside a results directory (or its archive)."""

    path: Path
    results_files: list[Path]
    root: Path  # the results directory (its benchmarks.json describes the suite)
    machine_json: Path  # may be absent for an archived machine


def find_machine_dirs(results_dir: Path, errors: list[IngestError] | None = None) -> Iterator[MachineDir]:
    """Every directory under ``results_dir`` with a machine.json (as asv finds them), sorted, then its archive.

    A directory that cannot be listed is added to ``errors`` (its results are not loaded).
    """

    def unreadable(error: OSError) -> None:
        # A directory that is gone has no results; "no asv results here" says so.
        if errors is not None and not isinstance(error, FileNotFoundError):
            reason = f"cannot read this directory: {error.strerror or error}; its results were not loaded"
            errors.append(IngestError(Path(error.filename or results_dir), reason))

    for root, dirs, files in os.walk(results_dir, onerror=unreadable):
        archived = ARCHIVE_DIR_NAME in dirs
        dirs[:] = sorted(d for d in dirs if d not in (CONTEXT_DIR_NAME, ARCHIVE_DIR_NAME))
        here = Path(root)
        if "machine.json" in files:
            yield MachineDir(here, _results_files(here, files), here.parent, here / "machine.json")
        if archived:
            archive = here / ARCHIVE_DIR_NAME
            for machine in sorted(p for p in archive.iterdir() if p.is_dir() and p.name != CONTEXT_DIR_NAME):
                files_there = [p.name for p in machine.iterdir() if p.is_file()]
                yield MachineDir(
                    machine, _results_files(machine, files_there), here, here / machine.name / "machine.json"
                )


def _results_files(directory: Path, names) -> list[Path]:
    return sorted(directory / f for f in names if f.endswith(".json") and f not in SIDE_FILES)


@dataclass(frozen=True)
class ParseJob:
    """A results file with new content, to read and parse (in a worker process for large directories)."""

    results_file: Path
    path: str  # the key in ingested_files: the absolute path
    relative: str  # relative to the ingested directory, as runs.results_file shows it
    stat_signature: str
    suite: dict[str, SuiteBenchmark]


@dataclass(frozen=True)
class Prepared:
    """A parsed results file (its values as rows) and its context, ready to store."""

    record: FileRecord
    parsed: ParsedResults  # without its values: ``rows`` holds them
    rows: ValueRows
    context: RunContext | None


def ingest_results_dir(engine: Engine, path: Path, progress: bool = False) -> IngestReport:
    """Load every new or changed results file under ``path``; see the module docstring."""
    path = Path(path)
    report = IngestReport()
    machine_dirs = list(find_machine_dirs(path, report.errors))
    if not machine_dirs:
        report.errors.append(IngestError(path, "no asv results here (no directory with a machine.json)"))
        return report
    with write_connection(engine) as connection:
        known = known_files(connection)
    jobs, machines = _plan(engine, path, machine_dirs, known, report)
    benchmark_ids = BenchmarkIds()
    with _progress(progress, len(jobs)) as advance, _parser_pool(len(jobs)) as pool:
        for job, outcome in zip(jobs, _prepared_in_order(jobs, pool)):
            if isinstance(outcome, IngestError):
                report.errors.append(outcome)
            else:
                _store(engine, job, outcome, machines[job.results_file.parent], benchmark_ids, report)
            advance()
    if report.files_loaded:
        refresh_statistics(engine)
    return report


def _plan(
    engine: Engine,
    results_dir: Path,
    machine_dirs: list[MachineDir],
    known: KnownFiles,
    report: IngestReport,
) -> tuple[list[ParseJob], dict[Path, dict[str, str | None]]]:
    """The files with content not loaded yet, and each machine's machine.json.

    Files whose content is already stored are recorded under their path (so that the
    next ingest skips them unread) and counted as unchanged.
    """
    suites: dict[Path, dict[str, SuiteBenchmark] | None] = {}
    jobs, machines = [], {}
    planned: set[str] = set()  # content hashes of this ingest's jobs (an archived copy of a new run)
    already: list[tuple[str, str, str, int]] = []
    for machine_dir in machine_dirs:
        if machine_dir.root not in suites:
            suites[machine_dir.root] = _load_suite(engine, machine_dir.root, report)
        suite = suites[machine_dir.root]
        if suite is None:
            continue
        machine_info = _load_machine(machine_dir, report)
        if machine_info is None:
            continue
        machines[machine_dir.path] = machine_info
        for results_file in machine_dir.results_files:
            path = str(results_file.resolve())
            context_file = context_file_for(results_file)
            try:
                stat_signature = _stat_signature(results_file, context_file)
                if known.by_path.get(path, (None,))[0] == stat_signature:
                    report.files_unchanged += 1
                    continue
                digest = content_hash(read_file_bytes(results_file), _read_optional(context_file))
            except OSError as error:
                report.errors.append(IngestError(results_file, f"cannot read: {error.strerror or error}"))
                continue
            except ResultsFormatError as error:
                report.errors.append(IngestError(results_file, str(error)))
                continue
            if digest in known.run_by_hash:
                already.append((path, stat_signature, digest, known.run_by_hash[digest]))
                report.files_unchanged += 1
            elif digest in planned:
                report.files_unchanged += 1
            else:
                planned.add(digest)
                relative = results_file.relative_to(results_dir).as_posix()
                jobs.append(ParseJob(results_file, path, relative, stat_signature, suite))
    if already:
        with write_connection(engine) as connection:
            for row in already:
                record_known_file(connection, *row)
    return jobs, machines


def content_hash(results: bytes, context: bytes | None) -> str:
    """What identifies a results file's content: sha256 of its bytes and its context file's."""
    return hashlib.sha256(results + b"\0" + (context or b"")).hexdigest()


def _read_optional(path: Path) -> bytes | None:
    """The bytes of an optional file (a context file), None when there is none."""
    return read_file_bytes(path) if os.path.lexists(path) else None


def _load_suite(engine: Engine, root: Path, report: IngestReport) -> dict[str, SuiteBenchmark] | None:
    """benchmarks.json of a results directory ({} when absent; None when unreadable)."""
    path = root / "benchmarks.json"
    if not path.exists():
        return {}
    try:
        suite = parse_benchmarks_json(load_json_file(path))
    except ResultsFormatError as error:
        # Without it parameter names would be wrong: load nothing from this directory.
        report.errors.append(IngestError(path, f"{error}; its results were not loaded"))
        return None
    with write_connection(engine) as connection:
        mark_suite(connection, suite)
    return suite


def _load_machine(machine_dir: MachineDir, report: IngestReport) -> dict[str, str | None] | None:
    path = machine_dir.machine_json
    if not path.exists() and machine_dir.path.parent.name == ARCHIVE_DIR_NAME:
        # An archived machine whose live folder is gone: the results files name it.
        return {"machine": machine_dir.path.name}
    try:
        return parse_machine_json(load_json_file(path))
    except ResultsFormatError as error:
        report.errors.append(IngestError(path, f"{error}; results of this machine were not loaded"))
        return None


def read_and_parse(job: ParseJob) -> Prepared | IngestError:
    """Read, hash and parse one results file and its context file (no database access)."""
    results_file = job.results_file
    context_file = context_file_for(results_file)
    try:
        raw = read_file_bytes(results_file)
    except ResultsFormatError as error:
        return IngestError(results_file, str(error))
    try:
        raw_context = _read_optional(context_file)
    except ResultsFormatError as error:
        return IngestError(context_file, f"{error}; {results_file.name} was not loaded")
    try:
        parsed = parse_results(load_json_bytes(raw), results_file.name, job.suite, results_file.parent.name)
    except (ResultsFormatError, RecursionError) as error:
        return IngestError(results_file, _format_reason(error))
    try:
        context = parse_context(load_json_bytes(raw_context)) if raw_context is not None else None
    except (ResultsFormatError, RecursionError) as error:
        return IngestError(context_file, f"{_format_reason(error)}; {results_file.name} was not loaded")
    record = FileRecord(job.path, job.relative, job.stat_signature, content_hash(raw, raw_context))
    rows = ValueRows.from_values(parsed.values)
    return Prepared(record, dataclasses.replace(parsed, values=[]), rows, context)


def _format_reason(error: Exception) -> str:
    return "JSON nested too deeply" if isinstance(error, RecursionError) else str(error)


@contextlib.contextmanager
def _parser_pool(jobs: int) -> Iterator[Executor | None]:
    """Worker processes that parse while this one writes (parsing is half the work), if worth it."""
    workers = min(MAX_PARSE_WORKERS, os.cpu_count() or 1)
    if jobs < POOL_MIN_FILES or workers < 2:
        yield None
        return
    with worker_pool(workers) as pool:
        yield pool


def _prepared_in_order(jobs: list[ParseJob], pool: Executor | None) -> Iterator[Prepared | IngestError]:
    """read_and_parse of each job, in order, with a bounded number parsed ahead."""
    if pool is None:
        yield from map(read_and_parse, jobs)
        return
    ahead: collections.deque[Future] = collections.deque()
    for job in jobs:
        ahead.append(pool.submit(read_and_parse, job))
        if len(ahead) > PARSE_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _store(
    engine: Engine,
    job: ParseJob,
    prepared: Prepared,
    machine_info: dict[str, str | None],
    benchmark_ids: BenchmarkIds,
    report: IngestReport,
) -> None:
    try:
        _store_with_retries(engine, prepared, machine_info, job.suite, benchmark_ids)
    except exc.SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        report.errors.append(IngestError(job.results_file, f"database refused it: {reason}"))
        return
    report.files_loaded += 1
    report.values_loaded += prepared.rows.count


def _store_with_retries(
    engine: Engine,
    prepared: Prepared,
    machine_info: dict[str, str | None],
    suite: dict[str, SuiteBenchmark],
    benchmark_ids: BenchmarkIds,
) -> None:
    for attempt in range(RETRIES):
        try:
            with write_connection(engine) as connection:
                load_results(
                    connection,
                    prepared.parsed,
                    prepared.rows,
                    prepared.context,
                    machine_info,
                    suite,
                    benchmark_ids,
                    prepared.record,
                )
        except exc.OperationalError as error:
            benchmark_ids.rollback()
            if attempt == RETRIES - 1 or not _is_transient(error):
                raise
            time.sleep(RETRY_PAUSE_S * (attempt + 1))
        except BaseException:
            benchmark_ids.rollback()
            raise
        else:
            benchmark_ids.commit()
            return


def _is_transient(error: exc.OperationalError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message


def _stat_signature(results_file: Path, context_file: Path) -> str:
    """The file objects as they are now: a copy or a rewrite (even one restoring the mtime) changes ctime."""
    parts = []
    for path in (results_file, context_file):
        try:
            stat = path.stat()
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}")
    return "|".join(parts)


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator:
    """A function to call per file: advances a rich progress bar on stderr when enabled."""
    if not (enabled and total):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingesting results files", total=total)
        yield lambda: bar.advance(task)
