"""Open a sqrtwatch database by URL: SQLite set-up, schema upgrade, sessions.

Callers own their transactions: data functions take a ``Session`` or
``Connection``; :func:`session_scope` is the usual way to get one that commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

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


def connect(url: str, create: bool = True) -> Engine:
    """An engine on ``url`` with the schema upgraded to the latest revision.

    SQLite files (and their directory) are created as needed (unless ``create``
    is false: then a missing file is an error) and use WAL with a busy timeout so
    that concurrent writers wait instead of failing.
    """
    parsed = _parse(url)
    if not create:
        _require_sqlite_file(parsed)
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
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def connect_read_only(url: str) -> Engine:
    """An engine on an existing database that never writes to it: no lock, no migration, no new file.

    A SQLite file is opened read-only (``mode=ro``; ``immutable`` where even that
    cannot work, in a read-only directory); PostgreSQL sessions are read-only. A
    schema that is missing, older or newer than this sqrtwatch's is a :class:`DatabaseError`.
    """
    parsed = _parse(url)
    shown = parsed.render_as_string()
    _require_sqlite_file(parsed)
    attempts = _read_only_sqlite_engines(parsed) if parsed.get_backend_name() == "sqlite" else None
    try:
        if attempts is None:
            options = (
                {"options": "-c default_transaction_read_only=on"}
                if parsed.get_backend_name() == "postgresql"
                else {}
            )
            attempts = iter([sa.create_engine(parsed, pool_pre_ping=True, connect_args=options)])
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise DatabaseError(f"cannot use database URL {shown}: {error}") from error
    for engine in attempts:
        try:
            with engine.connect() as connection:
                _check_schema_readable(connection, url)
            return engine
        except exc.OperationalError as error:
            engine.dispose()
            last: Exception = error
        except exc.SQLAlchemyError as error:
            engine.dispose()
            raise DatabaseError(
                f"cannot open database {shown}: {getattr(error, 'orig', None) or error}"
            ) from error
        except DatabaseError:
            engine.dispose()
            raise
    reason = getattr(last, "orig", None) or last
    raise DatabaseError(f"cannot open database {shown}: {reason}") from last


def _parse(url: str) -> sa.URL:
    try:
        return make_url(url)
    except exc.ArgumentError as error:
        raise DatabaseError(f"invalid database URL {url!r}: {error}") from error


def _sqlite_path(url: sa.URL) -> Path | None:
    """The file of a SQLite URL (None: in memory, or a ``file:`` URI)."""
    database = url.database
    if (
        url.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return Path(database).expanduser()


def _require_sqlite_file(url: sa.URL) -> None:
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        raise DatabaseError(
            f"no database at {path} (a mistyped --db?); `sqrtwatch ingest` or `sqrtwatch migrate` creates one"
        )


def _read_only_sqlite_engines(url: sa.URL) -> Iterator[Engine]:
    """Read-only engines to try in turn: ``mode=ro``, then ``immutable=1``.

    ``mode=ro`` on a WAL database needs its shared-memory file, which cannot be
    created in a read-only directory; nobody can write there, so ``immutable`` is safe.
    """
    import sqlite3

    path = _sqlite_path(url)
    if path is None:
        yield sa.create_engine(url)
        return
    target = quote(str(path.resolve()))
    for flags in ("mode=ro", "immutable=1"):
        yield sa.create_engine(
            "sqlite://",
            creator=lambda flags=flags: sqlite3.connect(
                f"file:{target}?{flags}",
                uri=True,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            ),
        )


def _check_schema_readable(connection: sa.Connection, url: str) -> None:
    """Raise :class:`DatabaseError` unless the schema is exactly this sqrtwatch's."""
    state, revision = schema_state(connection)
    if state == "current":
        return
    if state == "empty":
        raise DatabaseError(
            f"{_shown(url)} holds no sqrtwatch database; `sqrtwatch ingest` or `sqrtwatch migrate` creates one"
        )
    if state == "newer":
        raise DatabaseError(_newer_message(url, revision))
    raise DatabaseError(
        f"{_shown(url)} has an older schema (revision {revision}); "
        f"upgrade it with: sqrtwatch migrate --db {_shown(url)}"
    )


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _newer_message(url: str, revision: str | None) -> str:
    return (
        f"{_shown(url)} was written by a newer sqrtwatch (schema revision {revision} is unknown here); "
        "upgrade sqrtwatch to use it"
    )


def schema_state(connection: sa.Connection) -> tuple[str, str | None]:
    """``("current" | "older" | "newer" | "empty", revision)`` of the database's schema, read without writing."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    current = set(MigrationContext.configure(connection).get_current_heads())
    if not current:
        return "empty", None
    revision = ", ".join(sorted(current))
    known = {rev.revision for rev in script.walk_revisions()}
    if not current <= known:
        return "newer", revision
    return ("current" if current == set(script.get_heads()) else "older"), revision


def _sqlite_engine(url: sa.URL) -> Engine:
    path = _sqlite_path(url)
    if path is not None:
        try:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(f"cannot create the directory of {path}: {error}") from error
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
        state, revision = schema_state(connection)
        if state == "newer":
            raise DatabaseError(_newer_message(connection.engine.url.render_as_string(), revision))
        if state != "current":
            command.upgrade(alembic_config(connection), "head")
