"""The GitHub Actions workflows: actionlint, pinned actions, least privilege, the safe PR pattern."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
SCRIPT_DIR = REPO_ROOT / ".github" / "scripts"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True; the workflows are plain mappings otherwise.
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def actionlint() -> str:
    found = Path(sys.executable).with_name("actionlint")
    return (
        str(found)
        if found.exists()
        else shutil.which("actionlint") or pytest.fail("actionlint not installed")
    )


def test_the_four_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {
        "tests.yml",
        "benchmarks.yml",
        "pull-request.yml",
        "pull-request-comment.yml",
    }


def test_actionlint_passes_on_every_workflow():
    result = subprocess.run(
        [actionlint(), *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_full_commit_shas(path):
    for _, step in steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{path.name}: {step['uses']} is not pinned to a commit SHA"
    # The tag each SHA stands for is written beside it, for the humans who update them.
    for line in path.read_text().splitlines():
        if re.search(r"uses: \S+@[0-9a-f]{40}", line):
            assert re.search(r"# v\d", line), f"{path.name}: no version comment on {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_permissions(path):
    workflow = load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: the default token must have no permissions"
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), (
            f"{path.name}: job {job_id} must declare its permissions"
        )
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_take_expressions_only_through_env(path):
    """`${{ }}` inside a shell script is an injection hole (a branch name is user input);
    it also keeps the steps runnable by test_workflows_commands."""
    for job_id, step in steps(load(path)):
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{path.name}: job {job_id}: expression inside run: {step['run']!r}"
            )


def test_pull_request_jobs_run_pr_code_without_write_access_or_secrets():
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    assert "pull_request_target" not in text

    workflow = load(WORKFLOW_DIR / "pull-request.yml")
    assert list(workflow["on"]) == ["pull_request"]
    for job in workflow["jobs"].values():
        assert set(job["permissions"].values()) == {"read"}
    assert "secrets." not in yaml.safe_dump(workflow), "no secrets where PR code runs"
    for _, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_comment_workflow_never_checks_out_the_pull_request():
    workflow = load(WORKFLOW_DIR / "pull-request-comment.yml")
    assert workflow["on"]["workflow_run"]["workflows"] == [load(WORKFLOW_DIR / "pull-request.yml")["name"]]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    for _, step in steps(workflow):
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert "ref" not in step.get("with", {}), "checkout must stay on the default branch"
            assert "repository" not in step.get("with", {})
        if "run" in step:
            assert step["run"].startswith("python3 .github/scripts/"), (
                "only this repository's own scripts run"
            )


def test_gpu_runner_is_opt_in_by_repository_variable():
    workflow = load(WORKFLOW_DIR / "benchmarks.yml")
    plan_step = next(step for job_id, step in steps(workflow) if step.get("id") == "plan")
    assert plan_step["env"]["GPU_RUNNER"] == "${{ vars.SQRTWATCH_GPU_RUNNER }}"
    # Runners come from the planner only (test_workflows_scripts checks it adds the GPU on "true").
    assert workflow["jobs"]["bench"]["runs-on"] == "${{ matrix.runs_on }}"


def test_scripts_called_by_workflows_exist_and_are_executable():
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    called = set(re.findall(r"\.github/scripts/[\w.-]+", text))
    assert called, "the workflows call their scripts"
    for relative in called:
        path = REPO_ROOT / relative
        assert path.is_file(), f"{relative} is called but missing"
        assert path.stat().st_mode & 0o111, f"{relative} is not executable"


@pytest.mark.parametrize("path", sorted(SCRIPT_DIR.glob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
