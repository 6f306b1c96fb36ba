"""The sqrtwatch schema: SQLAlchemy 2.0 typed models (portable: SQLite and PostgreSQL).

Natural keys carry unique constraints so that ingestion and detection are
idempotent in the database (``INSERT ... ON CONFLICT``), not in Python.
Parameter combinations are stored as canonical JSON text (see
:func:`params_key`) so that they can be indexed and compared on every dialect.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Result value statuses: asv writes null for a failed benchmark and NaN for a skipped one.
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"

# Reusable column types.
IntPk = Annotated[int, mapped_column(primary_key=True)]
# Large tables get 64-bit ids; SQLite needs plain INTEGER for its rowid alias.
BigPk = Annotated[int, mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)]
Name = Annotated[str, mapped_column(String(255))]
LongName = Annotated[str, mapped_column(String(1000))]
# asv's JavaScript timestamps: milliseconds since the epoch.
Millis = Annotated[int | None, mapped_column(BigInteger)]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
OptTimestamp = Annotated[dt.datetime | None, mapped_column(DateTime(timezone=True))]
OptText = Annotated[str | None, mapped_column(Text)]
OptFloat = Annotated[float | None, mapped_column(Float)]
# none_as_null: Python None is SQL NULL, not the JSON text "null".
OptJSON = Annotated[Any, mapped_column(JSON(none_as_null=True), nullable=True)]
CommitHash = Annotated[str, mapped_column(String(64))]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def params_key(params: dict[str, str]) -> str:
    """Canonical text of a parameter combination (name -> asv repr string), in parameter order."""
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Machine(Base):
    """A benchmarking host: asv's machine.json plus the hardware context asv lacks."""

    __tablename__ = "machines"

    id: Mapped[IntPk]
    name: Mapped[Name] = mapped_column(unique=True)
    # asv machine.json fields (asv stores them all as strings; minimal files omit most).
    arch: Mapped[OptText]
    cpu: Mapped[OptText]
    num_cpu: Mapped[OptText]
    os: Mapped[OptText]
    ram: Mapped[OptText]
    machine_json: Mapped[OptJSON]
    # From sqrtwatch context files.
    cpu_model: Mapped[OptText]
    cpu_count: Mapped[int | None]
    cuda_devices: Mapped[OptJSON]
    mps_device: Mapped[OptText]

    environments: Mapped[list[Environment]] = relationship(back_populates="machine")


class Environment(Base):
    """An asv environment on one machine, with the torch build last seen in it.

    ``name`` is asv's env name, except for asv ``existing`` environments, whose
    name embeds the interpreter path: they are stored as ``existing-py<X.Y>``
    (see :mod:`sqrtwatch.db.ingest.env_names`), so checkouts at different paths and
    torch upgrades in place share series. The torch fields show the latest run;
    each run has its own in :class:`Run`.
    """

    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("machine_id", "name"),)

    id: Mapped[IntPk]
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    name: Mapped[LongName]
    python: Mapped[OptText]
    requirements: Mapped[OptJSON]
    torch_version: Mapped[OptText]
    torch_git_hash: Mapped[OptText]
    build_variant: Mapped[OptText]
    cpu_isa: Mapped[OptText]
    math_libraries: Mapped[OptJSON]

    machine: Mapped[Machine] = relationship(back_populates="environments")


class Revision(Base):
    """A commit of the benchmarked repository."""

    __tablename__ = "revisions"

    id: Mapped[IntPk]
    commit_hash: Mapped[CommitHash] = mapped_column(unique=True)
    # Commit date as asv records it (ms since epoch); not when the benchmarks ran.
    date: Mapped[Millis] = mapped_column(index=True)
    branch: Mapped[str | None] = mapped_column(String(255))


class Benchmark(Base):
    """One version of an asv benchmark (a code change gives a new version)."""

    __tablename__ = "benchmarks"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[IntPk]
    name: Mapped[LongName] = mapped_column(index=True)
    # asv's version string; "" when the results predate benchmark versions.
    version: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    param_names: Mapped[OptJSON]
    # sha256 of the benchmark's code in benchmarks.json, when known.
    source_hash: Mapped[str | None] = mapped_column(String(64))
    # In the latest benchmarks.json seen for this name (False: renamed or removed).
    in_suite: Mapped[bool] = mapped_column(Boolean, default=False)
    # A newer version of the same benchmark exists in benchmarks.json.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)


class Run(Base):
    """One measurement event: a machine, an environment, a commit and a time, plus its context.

    ``measured_at`` (the latest ``started_at`` asv wrote for the run's benchmarks;
    0 when the file records none) tells apart the runs of one commit: asv overwrites
    ``<commit>-<env>.json`` on every run, so each new content of that file is a new
    run and the earlier one stays (docs/history.md).
    """

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("machine_id", "environment_id", "revision_id", "measured_at"),)

    id: Mapped[IntPk]
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    measured_at: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # hardware_label() of the run's context: series group runs of one hardware.
    hardware: Mapped[str] = mapped_column(String(255), default="", server_default="")
    results_file: Mapped[OptText]
    env_vars: Mapped[OptJSON]
    durations: Mapped[OptJSON]
    # Context of this run (from the sqrtwatch context file; null without one).
    torch_version: Mapped[str | None] = mapped_column(String(128), index=True)
    torch_git_hash: Mapped[OptText]
    build_variant: Mapped[str | None] = mapped_column(String(64))
    cpu_isa: Mapped[str | None] = mapped_column(String(64))
    threads: Mapped[int | None]
    profile: Mapped[str | None] = mapped_column(String(32))
    sqrtwatch_commit: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[OptJSON]
    ingested_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    machine: Mapped[Machine] = relationship()
    environment: Mapped[Environment] = relationship()
    revision: Mapped[Revision] = relationship()


class ResultValue(Base):
    """One measured value: a benchmark at one parameter combination in one run."""

    __tablename__ = "result_values"
    __table_args__ = (
        # The natural key, run first: a new run's rows land at the end of this
        # index, so ingesting touches a few pages instead of one per series.
        # The series query walks the (few thousand) runs of a machine and
        # seeks (run, benchmark, params) here; per-run queries use its prefix.
        UniqueConstraint("run_id", "benchmark_id", "params"),
    )

    id: Mapped[BigPk]
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmarks.id"))
    params: Mapped[str] = mapped_column(Text)  # params_key(): canonical JSON object
    param_index: Mapped[int]  # position in asv's itertools.product order
    status: Mapped[str] = mapped_column(String(8))  # ok / failed / skipped
    value: Mapped[OptFloat]
    ci_99_a: Mapped[OptFloat]
    ci_99_b: Mapped[OptFloat]
    q_25: Mapped[OptFloat]
    q_75: Mapped[OptFloat]
    number: Mapped[int | None] = mapped_column(BigInteger)
    repeat: Mapped[int | None] = mapped_column(BigInteger)
    n_samples: Mapped[int | None]
    # Raw samples; non-finite numbers stored as "NaN"/"inf"/"-inf" (strict JSON).
    samples: Mapped[OptJSON]
    started_at: Mapped[Millis]
    duration: Mapped[OptFloat]

    run: Mapped[Run] = relationship()
    benchmark: Mapped[Benchmark] = relationship()


class AccuracyResult(Base):
    """One accuracy report (impl, dtype, device) from a run's context file."""

    __tablename__ = "accuracy_results"
    __table_args__ = (UniqueConstraint("run_id", "impl", "dtype", "device", "mode"),)

    id: Mapped[IntPk]
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    impl: Mapped[Name]
    dtype: Mapped[str] = mapped_column(String(32))
    device: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(32))
    torch_version: Mapped[str | None] = mapped_column(String(128))
    inputs_tested: Mapped[int | None] = mapped_column(BigInteger)
    mismatches: Mapped[int | None] = mapped_column(BigInteger)
    mismatch_fraction: Mapped[OptFloat]
    max_ulp: Mapped[OptFloat]
    mean_ulp: Mapped[OptFloat]
    worst_input_bits: Mapped[str | None] = mapped_column(String(64))
    special_tested: Mapped[int | None]
    special_failed: Mapped[int | None]
    elapsed_s: Mapped[OptFloat]
    # The whole report as written (extra fields included; non-finite numbers as strings).
    detail: Mapped[OptJSON]

    run: Mapped[Run] = relationship()


class Alert(Base):
    """A detected change in one series (or between torch versions), with its cause and triage state.

    The natural key (series + source + first run after + kind) keeps an alert's id
    when detection runs again over the same history.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # Named explicitly: the convention's name would pass PostgreSQL's 63 characters.
        UniqueConstraint(
            "benchmark",
            "params",
            "machine",
            "env_name",
            "hardware",
            "source",
            "run_after_id",
            "kind",
            name="uq_alerts_key",
        ),
        Index("ix_alerts_status", "status"),
    )

    id: Mapped[IntPk]
    benchmark: Mapped[LongName]
    params: Mapped[str] = mapped_column(Text)  # params_key() of the series
    machine: Mapped[Name]
    env_name: Mapped[LongName]
    hardware: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # "series" (a change between runs of one series) or "upgrade" (between torch versions).
    source: Mapped[str] = mapped_column(String(16), default="series", server_default="series")
    # The runs on either side of the change (plain ids: no foreign key, runs may merge).
    run_before_id: Mapped[int | None]
    run_after_id: Mapped[int | None]
    # Context field -> [before, after] for the fields that differ between those runs.
    cause: Mapped[OptJSON]
    commit_before: Mapped[str | None] = mapped_column(String(64))
    commit_after: Mapped[CommitHash]
    value_before: Mapped[OptFloat]
    value_after: Mapped[OptFloat]
    ratio: Mapped[OptFloat]
    kind: Mapped[str] = mapped_column(String(16))  # regression / improvement
    status: Mapped[str] = mapped_column(String(16), default="active")  # active / acknowledged / dismissed
    detected_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    triaged_by: Mapped[str | None] = mapped_column(String(255))
    triage_note: Mapped[OptText]
    triaged_at: Mapped[OptTimestamp]
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[OptTimestamp]


class IngestedFile(Base):
    """A results file already loaded, with the signature that lets re-ingestion skip it."""

    __tablename__ = "ingested_files"

    id: Mapped[IntPk]
    # The file's absolute path on the host that ingested it (rows written before
    # migration 0005 hold paths relative to the results directory).
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    # Device, inode, size, mtime and ctime of the results file and of its context
    # file: the same file object as when it was hashed, so it is skipped unread.
    stat_signature: Mapped[str] = mapped_column(String(255))
    # sha256 of both files' bytes: content already stored is never loaded again.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    ingested_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class DetectionState(Base):
    """What ``sqrtwatch detect`` last analysed of one machine, hardware and environment.

    ``signature`` digests the environment's runs and the detection settings, so a
    later pass skips environments whose history and settings did not change;
    ``newest_run_id`` is the newest run it covered, so a later pass over a history
    that only grew at its end reads just that end.
    """

    __tablename__ = "detection_state"
    __table_args__ = (UniqueConstraint("machine", "env_name", "hardware"),)

    id: Mapped[IntPk]
    machine: Mapped[Name]
    env_name: Mapped[LongName]
    hardware: Mapped[str] = mapped_column(String(255), default="", server_default="")
    signature: Mapped[str] = mapped_column(String(64))
    newest_run_id: Mapped[int | None]
    detected_at: Mapped[Timestamp] = mapped_column(default=utcnow)
