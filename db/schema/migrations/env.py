"""Alembic environment: runs migrations on the connection that sqrtwatch hands it.

``sqrtwatch.db.schema.engine.upgrade_schema`` passes an open connection (inside its
own transaction and lock); the ``alembic`` command line may instead set
``sqlalchemy.url`` (see db/schema/alembic.ini) to autogenerate a new revision.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from sqrtwatch.db.schema.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: Alembic copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("SQRTWATCH_DB")
    if not url:
        raise SystemExit("set SQRTWATCH_DB to the database URL to migrate")
    engine = create_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations()
