"""The schema path: Alembic migrations only, checked against the models; opening databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from sqrtwatch.db.schema.engine import DatabaseError, alembic_config, connect
from sqrtwatch.db.schema.models import Base


def test_migrations_match_the_models(db_url):
    engine = connect(db_url)
    with engine.begin() as connection:
        # Raises if the models and the migrated schema differ.
        command.check(alembic_config(connection))
        tables = set(sa.inspect(connection).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_opening_an_older_database_upgrades_it(sqlite_url):
    script = ScriptDirectory.from_config(alembic_config())
    first = script.get_base()
    assert first is not None
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        # A database written by the first release of the schema, with data in it.
        command.upgrade(alembic_config(connection), first)
        connection.execute(sa.text("INSERT INTO machines (name) VALUES ('old-host')"))
    engine.dispose()
    upgraded = connect(sqlite_url)
    with upgraded.connect() as connection:
        assert (
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            == script.get_current_head()
        )
        assert connection.execute(sa.text("SELECT name FROM machines")).scalars().all() == ["old-host"]


def test_sqlite_file_and_directory_are_created_with_wal(tmp_path):
    path = tmp_path / "new" / "dir" / "sqrtwatch.db"
    engine = connect(f"sqlite:///{path}")
    assert path.is_file()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0
        foreign_keys = sa.inspect(connection).get_foreign_keys("result_values")
    assert {fk["referred_table"] for fk in foreign_keys} == {"runs", "benchmarks"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "invalid database URL"),
        ("nosuchdb://x/y", "cannot use database URL"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "cannot open database"),
    ],
)
def test_bad_urls_raise_a_clear_error(url, message):
    with pytest.raises(DatabaseError, match=message) as info:
        connect(url)
    assert "secret" not in str(info.value)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(DatabaseError, match="file is not a database"):
        connect(f"sqlite:///{path}")
