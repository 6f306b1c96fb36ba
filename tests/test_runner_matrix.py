"""The torch-version matrix of ``sqrtwatch run --torch``: config, environment names, checks.

The real two-version run (two virtualenvs, one a multi-GB torch) is too slow for the suite;
docs/ci.md gives the command. These tests cover the logic around it with asv's own code.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from asv.environment import ExistingEnvironment

from sqrtwatch import torch_matrix
from sqrtwatch.runner import Checkout, RunError, machine_name, write_run_config
from tests.conftest import REPO_ROOT, run_sqrtwatch

PYTHON = torch_matrix.this_python()


@pytest.fixture
def matrix_config_path(tmp_path):
    """The run config ``sqrtwatch run --torch 2.13.0 --torch 2.14.1`` hands to asv."""
    checkout = Checkout(REPO_ROOT)
    path = write_run_config(checkout, tmp_path / "results", tmp_path / "asv.conf.json")
    config = torch_matrix.matrix_config(json.loads(path.read_text()), ["2.13.0", "2.14.1"], PYTHON)
    path.write_text(json.dumps(config))
    return path


def test_asv_names_one_environment_per_torch_version(matrix_config_path):
    environments = torch_matrix.matrix_environments(matrix_config_path)

    assert [env.name for env in environments] == [
        f"virtualenv-py{PYTHON}-torch2.13.0",
        f"virtualenv-py{PYTHON}-torch2.14.1",
    ]
    assert [env.requirements for env in environments] == [{"torch": "2.13.0"}, {"torch": "2.14.1"}]
    assert [env.name for env in environments] == [
        torch_matrix.env_name(PYTHON, v) for v in ("2.13.0", "2.14.1")
    ]


def test_matrix_config_keeps_other_axes_and_selects_only_the_requested_versions():
    config: dict[str, Any] = {
        "pythons": ["3.9", "3.12"],
        "matrix": {"req": {"torch": ["1.0"], "numpy": ["2.1.3"]}},
    }

    reduced = torch_matrix.matrix_config(config, ["2.14.1"], "3.11")

    assert reduced["pythons"] == ["3.11"]
    assert reduced["environment_type"] == "virtualenv"
    assert reduced["matrix"]["req"] == {"torch": ["2.14.1"], "numpy": ["2.1.3"]}
    assert config["matrix"]["req"]["torch"] == ["1.0"], "the input config must stay untouched"


def test_all_takes_the_versions_listed_in_asv_conf():
    config = Checkout(REPO_ROOT).config
    assert torch_matrix.resolve_torch_versions(["all"], config) == config["matrix"]["req"]["torch"]
    assert {"2.13.0", "2.14.1"} <= set(config["matrix"]["req"]["torch"])


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        (["latest"], "not an exact release"),
        (["2.13.0", "2.13.0"], "given twice"),
        (["v2.13.0"], "must start with a digit"),
        ([">=2.1"], "not an exact release"),
    ],
)
def test_unusable_torch_versions_are_refused(versions, message):
    with pytest.raises(torch_matrix.MatrixError, match=message):
        torch_matrix.resolve_torch_versions(versions, {})


def test_all_needs_a_torch_list_in_the_config():
    with pytest.raises(torch_matrix.MatrixError, match=r"matrix.*torch"):
        torch_matrix.resolve_torch_versions(["all"], {"matrix": {"req": {}}})


@pytest.mark.parametrize(
    ("requested", "installed", "ok"),
    [
        ("2.13.0", "2.13.0", True),
        ("2.13.0", "2.13.0+cpu", True),
        ("2.13", "2.13.0", True),
        ("2.13.0", "2.14.1", False),
        ("2.13.0+cu121", "2.13.0+cpu", False),
    ],
)
def test_installed_torch_must_be_the_requested_one(requested, installed, ok):
    if ok:
        torch_matrix.check_installed_torch(requested, installed, "env")
    else:
        with pytest.raises(torch_matrix.MatrixError, match=re.escape(f"asked for torch {requested},")):
            torch_matrix.check_installed_torch(requested, installed, "env")


def test_accuracy_reports_follow_their_torch_version():
    details = [
        {"dtype": "float16", "torch_version": "2.13.0"},
        {"dtype": "bfloat16", "torch_version": "2.14.1"},
        {},
    ]
    assert torch_matrix.accuracy_for_torch(details, "2.14.1") == [details[1], details[2]]


@pytest.mark.slow
def test_env_context_is_collected_by_the_environments_own_python(tmp_path):
    """The context comes from a child interpreter (asv's existing environment for this Python)."""
    config_path = write_run_config(Checkout(REPO_ROOT), tmp_path / "results", tmp_path / "asv.conf.json")
    from asv.config import Config

    env = ExistingEnvironment(Config.load(str(config_path)), sys.executable, {}, {})
    context = torch_matrix.env_context(env)

    import torch

    assert context["torch_version"] == torch.__version__
    assert context["python"] == ".".join(map(str, sys.version_info[:3]))


def test_asv_conf_never_lets_pip_resolve_torch_itself():
    """asv's default build (`pip wheel` with dependencies) and install (`--force-reinstall`)
    would each resolve sqrtwatch's unpinned torch>=2.1 to the newest release."""
    config = Checkout(REPO_ROOT).config
    assert all("--no-deps" in command for command in config["build_command"] if "pip wheel" in command)
    assert not any("--force-reinstall" in command for command in config["install_command"])
    assert config["environment_type"] == "virtualenv"


@pytest.mark.parametrize("name", ["", "a/b", " padded", ".."])
def test_machine_names_that_cannot_be_folders_are_refused(name):
    with pytest.raises(RunError, match="machine name"):
        machine_name(name)


def test_machine_name_defaults_to_the_host_name():
    import platform

    assert machine_name() == platform.node()
    assert machine_name("gha-ubuntu-latest") == "gha-ubuntu-latest"


def test_commit_needs_torch(tmp_path):
    result = run_sqrtwatch("run", "--commit", "HEAD", "--results", str(tmp_path / "r"), check=False)
    assert result.returncode == 1
    assert "--commit needs --torch" in result.stderr


def test_bad_torch_version_fails_before_asv_runs(tmp_path):
    result = run_sqrtwatch("run", "--torch", "latest", "--results", str(tmp_path / "r"), check=False)
    assert result.returncode == 1
    assert "'latest' is not an exact release" in result.stderr
    assert not (tmp_path / "r" / "machine.json").exists()


def test_unknown_commit_is_refused(tmp_path):
    result = run_sqrtwatch(
        "run", "--torch", "2.13.0", "--commit", "no-such-rev", "--results", str(tmp_path / "r"), check=False
    )
    assert result.returncode == 1
    assert "no commit 'no-such-rev'" in result.stderr


def test_accuracy_detail_of_each_environment_and_commit_reaches_its_context(tmp_path, monkeypatch):
    """In a matrix run, the suite files each report under the asv environment and commit that
    produced it (asv names them to the benchmark process); the runner reads it from there."""
    from benchmarks.bench_accuracy import collect_reports
    from sqrtwatch.runner import load_accuracy_details

    name, commit = torch_matrix.env_name(PYTHON, "2.13.0"), "a" * 40
    monkeypatch.setenv("ASV_ENV_NAME", name)
    monkeypatch.setenv("ASV_COMMIT", commit)
    collect_reports([("cpu", "float16", "torch.sqrt")], "quick", str(tmp_path))

    (report,) = load_accuracy_details(tmp_path / name / commit)
    assert (report["impl"], report["dtype"], report["device"]) == ("torch.sqrt", "float16", "cpu")
    assert load_accuracy_details(tmp_path) == [], "nothing left where another environment would read it"
