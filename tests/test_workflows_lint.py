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
    assert job["permissions"] == {"contents": "read", "actions": "read", "pull-requests": "write"}
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


# What each kind of step needs from the job's token (a private repository enforces all of it).
STEP_NEEDS = [
    (lambda step: step.get("uses", "").startswith("actions/checkout@"), {"contents": "read"}),
    (
        lambda step: (
            step.get("uses", "").startswith("actions/download-artifact@") and "run-id" in step.get("with", {})
        ),
        {"actions": "read"},
    ),
    (
        lambda step: step.get("uses", "").startswith("actions/deploy-pages@"),
        {"pages": "write", "id-token": "write"},
    ),
    (lambda step: "data_store.sh pull" in step.get("run", ""), {"contents": "read"}),
    (lambda step: "data_store.sh push" in step.get("run", ""), {"contents": "write"}),
    (lambda step: "collect_results.sh" in step.get("run", ""), {"actions": "read"}),
    (lambda step: "sticky_comment.py" in step.get("run", ""), {"pull-requests": "write"}),
]
LEVEL = {"none": 0, "read": 1, "write": 2}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_job_has_the_permissions_its_steps_need(path):
    for job_id, job in load(path)["jobs"].items():
        granted = job.get("permissions") or {}
        for step in job.get("steps", []):
            for applies, needs in STEP_NEEDS:
                if not applies(step):
                    continue
                for scope, level in needs.items():
                    assert LEVEL[granted.get(scope, "none")] >= LEVEL[level], (
                        f"{path.name}: job {job_id} needs {scope}: {level} for {step.get('name', step.get('uses', step.get('run')))}"
                    )


def test_superseded_pull_request_and_test_runs_are_cancelled():
    for name in ("tests.yml", "pull-request.yml"):
        concurrency = load(WORKFLOW_DIR / name)["concurrency"]
        assert concurrency["cancel-in-progress"] is True, name
        assert "${{" in concurrency["group"], f"{name}: one group per ref or PR"


def test_only_the_default_branch_files_into_the_shared_history_and_never_cancels_a_publish():
    workflow = load(WORKFLOW_DIR / "benchmarks.yml")
    publish = workflow["jobs"]["publish"]
    condition = publish["if"]
    assert "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)" in condition
    # A scheduled event carries no repository object: without this the nightly run never files.
    assert "(github.event_name == 'schedule' || github.ref ==" in condition
    collect = next(s for s in publish["steps"] if "collect_results.sh" in s.get("run", ""))
    assert "repository.default_branch" not in collect["env"]["BRANCH"]
    assert publish["concurrency"]["cancel-in-progress"] is False
    runs = [step.get("run", "") for step in publish["steps"]]
    collect = next(i for i, run in enumerate(runs) if "collect_results.sh" in run)
    ingest = next(i for i, run in enumerate(runs) if "sqrtwatch ingest" in run)
    assert collect < ingest, "results of runs whose publish was cancelled are filed too"


def test_profiles_by_trigger_and_partial_results_are_uploaded():
    workflow = load(WORKFLOW_DIR / "benchmarks.yml")
    bench = workflow["jobs"]["bench"]
    profile = bench["env"]["PROFILE"]
    assert "github.event_name == 'schedule' && 'full'" in profile and profile.endswith("'quick' }}")
    upload = next(s for s in bench["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ !cancelled() }}", "a failed cell must not lose the other results"
    run_step = next(s for s in bench["steps"] if "sqrtwatch run" in s.get("run", ""))
    assert "--require-device" in run_step["run"]
    assert bench["steps"][1]["with"]["cache"] == "${{ matrix.pip_cache }}"


def test_dependabot_keeps_the_action_pins_current():
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    (actions,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert actions["directory"] == "/"


NODE20_RELEASES = {  # the majors pinned until GitHub retired Node 20 actions (each runs on Node 20)
    "actions/checkout": 4,
    "actions/setup-python": 5,
    "actions/upload-artifact": 4,
    "actions/download-artifact": 4,
    "actions/upload-pages-artifact": 3,
    "actions/deploy-pages": 4,
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_action_is_pinned_to_a_node_20_release(path):
    for line in path.read_text().splitlines():
        match = re.search(r"uses: ([\w.-]+/[\w.-]+)@[0-9a-f]{40} # v(\d+)", line)
        if match and match[1] in NODE20_RELEASES:
            assert int(match[2]) > NODE20_RELEASES[match[1]], f"{path.name}: {line.strip()}"
