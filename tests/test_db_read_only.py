"""Reading commands never write: no new file, no migration, read-only files readable, clear refusals."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import alembic_config, connect
from tests.conftest import REPO_ROOT

QUIRKS = Path(__file__).parent / "data" / "asv_quirks" / "results"
READERS = [
    ["export"],
    ["alerts"],
    ["alerts", "--format", "json"],
    ["compare", "aaaaaaaa", "bbbbbbbb"],
    ["dashboard", "--read-only"],
    ["dashboard"],
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = connect(url)
    assert not ingest_results_dir(engine, QUIRKS).errors
    engine.dispose()
    return url


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_readers_refuse_a_missing_database_and_create_nothing(tmp_path, args):
    missing = tmp_path / "typo" / "sqrtwatch.db"
    result = CliRunner().invoke(main, [*args, "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert f"no database at {missing} (a mistyped --db?)" in result.output
    assert not (tmp_path / "typo").exists()


def test_readers_do_not_migrate_an_older_database_and_name_the_command(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with connect_older(url, "0003"):
        pass
    before = _digest(path)
    for args in READERS[:5]:
        result = CliRunner().invoke(main, [*args, "--db", url])
        assert result.exit_code == 1, args
        assert f"older schema (revision 0003); upgrade it with: sqrtwatch migrate --db {url}" in result.output
        assert "Traceback" not in result.output
    assert _digest(path) == before
    result = CliRunner().invoke(main, ["migrate", "--db", url])
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.exit_code == 0 and f"database schema at revision {head}" in result.output
    assert CliRunner().invoke(main, ["export", "--db", url]).exit_code == 0


class connect_older:
    """A new SQLite database at an older schema revision (as an older sqrtwatch left it)."""

    def __init__(self, url: str, revision: str) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(url)
        with self.engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc):
        self.engine.dispose()


@pytest.mark.parametrize("args", [["export"], ["alerts"], ["ingest", str(QUIRKS)], ["detect"], ["migrate"]])
def test_a_database_from_a_newer_sqrtwatch_is_a_clear_error(tmp_path, args):
    path = tmp_path / "new.db"
    url = _filled_database(path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    connection.close()
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code == 1
    assert (
        "written by a newer sqrtwatch (schema revision 9999_from_the_future is unknown here)" in result.output
    )


def test_migrate_creates_a_database(tmp_path):
    path = tmp_path / "fresh" / "sqrtwatch.db"
    result = CliRunner().invoke(main, ["migrate", "--db", f"sqlite:///{path}"])
    assert result.exit_code == 0 and path.is_file()


@pytest.mark.parametrize("where", ["read-only file", "read-only directory"])
@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None, reason="root needs setpriv to drop its privileges"
)
def test_a_database_the_user_may_only_read_is_readable(where):
    # Root may write anything: the readers run as an unprivileged user then.
    root = Path(tempfile.mkdtemp(prefix="sqrtwatch-readonly-"))
    try:
        os.chmod(root, 0o755)
        folder = root / "db"
        folder.mkdir()
        path = folder / "sqrtwatch.db"
        url = _filled_database(path)
        before = _digest(path)
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if where == "read-only file":
                os.chown(folder, 65534, 65534)  # the directory is the user's, the file is not theirs to write
        os.chmod(path, 0o444)
        os.chmod(folder, 0o755 if where == "read-only file" else 0o555)
        for args in (["export"], ["alerts", "--status", "all"], ["compare", "aaaaaaaa", "bbbbbbbb"]):
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "sqrtwatch", *args, "--db", url],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            )
            assert done.returncode == 0, f"{args}: {done.stderr}"
        assert _digest(path) == before
    finally:
        os.chmod(root / "db", 0o755)
        shutil.rmtree(root)
