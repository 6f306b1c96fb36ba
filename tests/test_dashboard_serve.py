"""``sqrtwatch dashboard``: the Streamlit command line and the read-only switch."""

from __future__ import annotations

import pytest

from sqrtwatch.dashboard.serve import APP_PATH, read_only_from_env, streamlit_command


def test_streamlit_runs_the_app_headless_without_usage_stats():
    command = streamlit_command(8765)
    assert command[1:5] == ["-m", "streamlit", "run", str(APP_PATH)]
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.port"] == "8765"
    assert flags["--server.address"] == "localhost"
    assert APP_PATH.is_file()


@pytest.mark.parametrize(
    ("value", "read_only"),
    [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("no", False)],
)
def test_read_only_from_the_environment(value, read_only):
    assert read_only_from_env({"SQRTWATCH_READ_ONLY": value}) is read_only


def test_a_bad_database_url_fails_before_serving(tmp_path):
    from tests.conftest import run_sqrtwatch

    result = run_sqrtwatch("dashboard", "--db", "nonsense://", "--port", "1", check=False)
    assert result.returncode == 1
    assert "nonsense" in result.stderr
