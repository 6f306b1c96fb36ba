"""Helpers shared by the database tests (tests/test_db_*.py)."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from sqrtwatch.db.export import export_values


def exported(engine, **filters) -> list[dict]:
    """Every value ``sqrtwatch export --format jsonl`` writes, parsed back."""
    stream = io.StringIO()
    export_values(engine, stream, fmt="jsonl", **filters)
    return [json.loads(line) for line in stream.getvalue().split("\n") if line]


def table_counts(engine) -> dict[str, int]:
    """Row count of every table (to check that nothing was half-written)."""
    with engine.connect() as connection:
        names = sa.inspect(connection).get_table_names()
        return {
            name: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in names
        }
