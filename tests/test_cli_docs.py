"""Docs as tests: every subcommand is documented in the README and has help text."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from sqrtwatch.cli import main
from tests.conftest import REPO_ROOT

COMMANDS = sorted(main.commands)


def test_contract_commands_exist():
    assert set(COMMANDS) >= {
        "run",
        "ingest",
        "export",
        "detect",
        "alerts",
        "compare",
        "accuracy",
        "dashboard",
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_and_is_in_readme(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert main.commands[command].help, f"{command} has no help text"
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"sqrtwatch {command}" in readme


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from sqrtwatch.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'streamlit', 'sqlalchemy', 'asv') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY="


def test_readme_shows_the_two_commands():
    first_screen = "\n".join((REPO_ROOT / "README.md").read_text().splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen
