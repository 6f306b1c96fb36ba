"""``sqrtwatch ingest``: load an asv results directory (and context files) into the database.

Each results file is one transaction, retried while another writer holds the
lock; a bad file is reported with its path and reason and the others still
load. Files already loaded and unchanged are skipped without being parsed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import exc
from sqlalchemy.engine import Engine

from sqrtwatch.context import CONTEXT_DIR_NAME
from sqrtwatch.db.asv_parse import (
    ResultsFormatError,
    SuiteBenchmark,
    load_json_bytes,
    load_json_file,
    parse_benchmarks_json,
    parse_machine_json,
    parse_results,
)
from sqrtwatch.db.context import RunContext, context_file_for, parse_context
from sqrtwatch.db.engine import write_connection
from sqrtwatch.db.ingest_load import (
    BenchmarkIds,
    FileRecord,
    known_files,
    load_results,
    mark_suite,
    refresh_stat_signature,
)

SIDE_FILES = {"machine.json", "benchmarks.json"}
# Transient lock conflicts (SQLite busy beyond the timeout, PostgreSQL deadlock
# or serialization failure) are retried this many times with growing pauses.
RETRIES = 5
RETRY_PAUSE_S = 0.5
_TRANSIENT_SQLSTATES = {"40P01", "40001", "55P03"}


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
    """A directory of asv results files for one machine, inside a results directory."""

    path: Path
    results_files: list[Path]

    @property
    def root(self) -> Path:
        return self.path.parent


def find_machine_dirs(results_dir: Path) -> Iterator[MachineDir]:
    """Every directory under ``results_dir`` with a machine.json (as asv finds them), sorted."""
    for root, dirs, files in os.walk(results_dir):
        dirs[:] = sorted(d for d in dirs if d != CONTEXT_DIR_NAME)
        if "machine.json" in files:
            results = sorted(Path(root) / f for f in files if f.endswith(".json") and f not in SIDE_FILES)
            yield MachineDir(Path(root), results)


def ingest_results_dir(engine: Engine, path: Path, progress: bool = False) -> IngestReport:
    """Load every new or changed results file under ``path``; see the module docstring."""
    path = Path(path)
    report = IngestReport()
    machine_dirs = list(find_machine_dirs(path))
    if not machine_dirs:
        report.errors.append(IngestError(path, "no asv results here (no directory with a machine.json)"))
        return report
    with write_connection(engine) as connection:
        known = known_files(connection)
    suites: dict[Path, dict[str, SuiteBenchmark] | None] = {}
    benchmark_ids = BenchmarkIds()
    total = sum(len(d.results_files) for d in machine_dirs)
    with _progress(progress, total) as advance:
        for machine_dir in machine_dirs:
            if machine_dir.root not in suites:
                suites[machine_dir.root] = _load_suite(engine, machine_dir.root, report)
            suite = suites[machine_dir.root]
            machine_info = _load_machine(machine_dir, report) if suite is not None else None
            for results_file in machine_dir.results_files:
                if machine_info is not None:
                    _ingest_file(engine, results_file, suite, machine_info, known, benchmark_ids, report)
                advance()
    return report


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
    path = machine_dir.path / "machine.json"
    try:
        return parse_machine_json(load_json_file(path))
    except ResultsFormatError as error:
        report.errors.append(IngestError(path, f"{error}; results of this machine were not loaded"))
        return None


def _ingest_file(
    engine: Engine,
    results_file: Path,
    suite: dict[str, SuiteBenchmark],
    machine_info: dict[str, str | None],
    known: dict[str, tuple[str, str]],
    benchmark_ids: BenchmarkIds,
    report: IngestReport,
) -> None:
    context_file = context_file_for(results_file)
    relative = f"{results_file.parent.name}/{results_file.name}"
    try:
        stat_signature = _stat_signature(results_file, context_file)
        if known.get(relative, ("", ""))[0] == stat_signature:
            report.files_unchanged += 1
            return
        raw = results_file.read_bytes()
        raw_context = context_file.read_bytes() if context_file.exists() else None
    except OSError as error:
        report.errors.append(IngestError(results_file, f"cannot read: {error.strerror or error}"))
        return
    content_hash = hashlib.sha256(raw + b"\0" + (raw_context or b"")).hexdigest()
    if known.get(relative, ("", ""))[1] == content_hash:
        with write_connection(engine) as connection:
            refresh_stat_signature(connection, relative, stat_signature)
        report.files_unchanged += 1
        return

    try:
        parsed = parse_results(load_json_bytes(raw), results_file.name, suite, results_file.parent.name)
    except ResultsFormatError as error:
        report.errors.append(IngestError(results_file, str(error)))
        return
    try:
        context = parse_context(load_json_bytes(raw_context)) if raw_context is not None else None
    except ResultsFormatError as error:
        report.errors.append(IngestError(context_file, f"{error}; {results_file.name} was not loaded"))
        return

    record = FileRecord(relative, stat_signature, content_hash)
    try:
        _store_with_retries(engine, parsed, context, machine_info, suite, benchmark_ids, record)
    except exc.SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        report.errors.append(IngestError(results_file, f"database refused it: {reason}"))
        return
    report.files_loaded += 1
    report.values_loaded += len(parsed.values)


def _store_with_retries(engine, parsed, context: RunContext | None, machine_info, suite, benchmark_ids, record) -> None:
    for attempt in range(RETRIES):
        try:
            with write_connection(engine) as connection:
                load_results(connection, parsed, context, machine_info, suite, benchmark_ids, record)
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
    parts = []
    for path in (results_file, context_file):
        try:
            stat = path.stat()
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


class _progress:
    """A rich progress bar on stderr when asked for, else nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._bar = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task("ingesting results files", total=total)

    def __enter__(self):
        if self._bar is None:
            return lambda: None
        self._bar.__enter__()
        return lambda: self._bar.advance(self._task)

    def __exit__(self, *exc_info):
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
