"""Open a sqrtwatch database by URL: SQLite set-up, schema upgrade, sessions.

Callers own their transactions: data functions take a ``Session`` or
``Connection``; :func:`session_scope` is the usual way to get one that commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

# How long a SQLite writer waits for another writer's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 60_000
# Rows ANALYZE samples per index on SQLite (enough for the planner's choices).
SQLITE_ANALYSIS_LIMIT = 1000
# Page cache per SQLite connection (KiB).
SQLITE_CACHE_KIB = 64 * 1024
# Execution option: begin SQLite transactions with BEGIN IMMEDIATE (take the
# write lock up front, so a read-then-write transaction never fails half way).
WRITE_OPTION = "sqrtwatch_write"
# Any constant: the PostgreSQL advisory lock that serializes schema upgrades.
_PG_MIGRATION_LOCK = 0x5157_7A11


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says why."""


def connect(url: str) -> Engine:
    """An engine on ``url`` with the schema upgraded to the latest revision.

    SQLite files (and their directory) are created as needed and use WAL with a
    busy timeout so that concurrent writers wait instead of failing.
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise DatabaseError(f"invalid database URL {url!r}: {error}") from error
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise DatabaseError(f"cannot use database URL {parsed.render_as_string()}: {error}") from error
    try:
        upgrade_schema(engine)
    except exc.SQLAlchemyError as error:
        engine.dispose()
        reason = getattr(error, "orig", None) or error
        raise DatabaseError(f"cannot open database {parsed.render_as_string()}: {reason}") from error
    return engine


def _sqlite_engine(url: sa.URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(f"cannot create the directory of {database}: {error}") from error
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN skips DDL
        # and cannot be IMMEDIATE); see the SQLAlchemy SQLite dialect docs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Foreign keys stay declared but unenforced on SQLite (its default): the
        # loader takes every id from its own transaction, and checking two
        # parents per inserted value costs ~40% of the ingest. PostgreSQL enforces them.
        # Ingest updates indexes all over a large table: a bigger page cache helps.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` for write transactions (SQLite: BEGIN IMMEDIATE, waiting on the busy timeout)."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextlib.contextmanager
def session_scope(engine: Engine, write: bool = True) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    with Session(writer(engine) if write else engine) as session, session.begin():
        yield session


@contextlib.contextmanager
def write_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A Core connection in one write transaction: committed on success, rolled back on error."""
    with writer(engine).begin() as connection:
        yield connection


def refresh_statistics(engine: Engine) -> None:
    """Update the query planner's statistics after a load (sampled: milliseconds on SQLite).

    Without them SQLite walks every value of every run for the series query
    instead of seeking the one benchmark and parameter combination.
    """
    with writer(engine).begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        connection.exec_driver_sql("ANALYZE")


def alembic_config(connection: sa.Connection | None = None):
    """The Alembic configuration of the packaged migrations, bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: Engine) -> None:
    """Upgrade the schema to the head revision, one process at a time."""
    from alembic import command

    with write_connection(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if _at_head(connection):
            return
        command.upgrade(alembic_config(connection), "head")


def _at_head(connection: sa.Connection) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(connection).get_current_heads()) == heads
