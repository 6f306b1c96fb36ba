"""Fixtures shared across test modules: a tiny real asv run, database URLs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Benchmarks selected for the tiny real asv pass that end-to-end tests share.
# Keep it to seconds of the quick profile, with skipped cells: the Bandwidth grid's 1e8
# elements are outside the quick profile, as after a first `make demo`.
TINY_BENCH = [
    r"bench_throughput\.Sqrt\.time_sqrt\('(cpu|cuda)', 'float32', 100000, 'out'\)",
    r"bench_throughput\.SmallTensor\.track_us_per_call\('cpu', 'float32', 'out'\)",
    r"bench_throughput\.Bandwidth\.track_(gbps|roofline_fraction)",
]


def run_sqrtwatch(
    *args: str, cwd: Path = REPO_ROOT, check: bool = True, **kwargs
) -> subprocess.CompletedProcess:
    """Run the real ``sqrtwatch`` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sqrtwatch", *args],
        cwd=cwd,
        check=check,
        text=True,
        capture_output=True,
        **kwargs,
    )


@pytest.fixture(scope="session")
def asv_results(tmp_path_factory) -> Path:
    """A real asv results directory from one quick pass of a few benchmarks on this machine."""
    results = tmp_path_factory.mktemp("asv") / "results"
    bench_args = [arg for pattern in TINY_BENCH for arg in ("--bench", pattern)]
    run_sqrtwatch("run", "--quick", "--results", str(results), *bench_args)
    return results


@pytest.fixture
def asv_results_copy(asv_results, tmp_path) -> Path:
    """A private copy of :func:`asv_results` that a test may modify."""
    return Path(shutil.copytree(asv_results, tmp_path / "results"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'sqrtwatch.db'}"


def postgres_admin_url() -> str | None:
    """PostgreSQL server for the tests, from SQRTWATCH_TEST_POSTGRES_URL (CI sets it)."""
    return os.environ.get("SQRTWATCH_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database, dropped afterwards.

    Skipped when SQRTWATCH_TEST_POSTGRES_URL is unset, except in CI (CI=true), where
    a missing server must fail the run rather than silently test SQLite only.
    """
    admin_url = postgres_admin_url()
    if not admin_url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but SQRTWATCH_TEST_POSTGRES_URL is not set (see .ci/run)")
        pytest.skip("SQRTWATCH_TEST_POSTGRES_URL not set")
    import sqlalchemy as sa

    name = f"sqrtwatch_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh empty database: a SQLite file, then a PostgreSQL database (see postgres_url)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
