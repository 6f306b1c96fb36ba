"""Every `sqrtwatch` command in the workflows' shell steps, run here against a tiny results set.

So the workflows cannot drift from the CLI: a renamed flag, a missing subcommand or an output
the next step cannot read fails here, not on GitHub. Each job's commands run in order, in one
working folder, with the step's `env:`; values that GitHub computes (`${{ }}`) come from
EXPRESSION_VALUES below. What only GitHub or a long run can do is stood in for:
- `sqrtwatch run` is parsed by the real CLI but not run (it builds asv environments); its
  `--results` folder is filled with the `asv_results` fixture, relabelled per `--commit`;
- `actions/download-artifact` of benchmark results puts the fixture where the step says.
Conventions the workflows keep (test_workflows_lint checks the first): no `${{ }}` inside
`run:`; a `sqrtwatch` command starts its line, optionally ending in `> FILE` or `>> FILE`
and `|| ...`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from sqrtwatch.context import CONTEXT_DIR_NAME
from tests.conftest import REPO_ROOT

WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
COMMAND = re.compile(
    r"^sqrtwatch\s+(?P<args>[^>|]*?)\s*(?:(?P<redirect>>>?)\s*(?P<target>\"[^\"]*\"|\S+))?\s*(?:\|\|.*)?$"
)
# Every subcommand that CI relies on must appear in some workflow.
EXPECTED_SUBCOMMANDS = {"run", "ingest", "detect", "alerts", "compare", "export"}


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


# The merge base stands in as a fixed hash: GitHub's default checkout is one commit deep, so
# HEAD~1 does not exist there (test_workflows_harness runs this module in such a clone).
MERGE_BASE = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def commits() -> dict[str, str]:
    return {"base": MERGE_BASE, "head": git("rev-parse", "HEAD")}


def expression_values(commits: dict[str, str], db_url: str) -> dict[str, str]:
    """Local stand-ins for the env values GitHub computes, by variable name."""
    return {
        "GPU_RUNNER": "",
        "MPS_RUNNER": "",
        "REQUIRE_DEVICE": "",
        "MAX_PROFILE": "full",
        "RUN_ID": "1",
        "BRANCH": "main",
        "TORCH_VERSIONS": "",
        "TORCH_VERSION": "2.13.0",
        "PIP_EXTRA_INDEX_URL": "",
        "PROFILE": "quick",
        "SQRTWATCH_MACHINE": "gha-test",
        "SQRTWATCH_DB": db_url,
        "GH_TOKEN": "",
        "GITHUB_TOKEN": "",
        "PR_NUMBER": "7",
        "PR_BASE_SHA": commits["base"],
        "BASE_SHA": commits["base"],
        "HEAD_SHA": commits["head"],
        "STATUS": "0",
        "RUN_URL": "https://example.invalid/run/1",
    }


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def logical_lines(script: str) -> list[str]:
    """Shell lines with backslash continuations joined and indentation removed."""
    return [line.strip() for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def _env_value(env: dict[str, str], match: re.Match[str]) -> str:
    return env[match.group(1)]


def resolve_env(mapping: dict | None, values: dict[str, str], where: str) -> dict[str, str]:
    resolved = {}
    for name, value in (mapping or {}).items():
        value = str(value)
        if "${{" in value:
            assert name in values, f"{where}: give EXPRESSION_VALUES a local value for {name}={value}"
            value = values[name]
        resolved[name] = value
    return resolved


def expand(words: str, env: dict[str, str], cwd: Path) -> list[str]:
    """Shell words as bash expands them with ``env``."""
    result = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {words}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split("\0")[:-1]


def relabel(results: Path, commit: str) -> None:
    """Copy every results file of ``results`` (and its context) as if asv had measured ``commit``."""
    for machine_dir in [p for p in results.iterdir() if (p / "machine.json").is_file()]:
        for path in list(machine_dir.glob("*.json")):
            if path.name == "machine.json" or path.name.startswith(commit[:8]):
                continue
            data = json.loads(path.read_text())
            stem = f"{commit[:8]}-{path.stem.split('-', 1)[1]}"
            data["commit_hash"] = commit
            (machine_dir / f"{stem}.json").write_text(json.dumps(data))
            context = results / CONTEXT_DIR_NAME / machine_dir.name / path.name
            if context.is_file():
                shutil.copy(context, context.with_name(f"{stem}.json"))


def stand_in_for_run(args: list[str], cwd: Path, asv_results: Path) -> None:
    """Parse ``sqrtwatch run ARGS`` with the real CLI, then put the fixture where it would write."""
    from sqrtwatch.cli import main

    command = main.get_command(click.Context(main), "run")
    assert command is not None
    params = command.make_context("run", list(args)).params  # a drifted flag raises here
    results = cwd / params["results_dir"]
    shutil.copytree(asv_results, results)
    if params["commits"]:
        for commit in params["commits"]:
            relabel(results, commit)


def run_command(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "sqrtwatch", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert result.returncode == 0, f"sqrtwatch {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    if "--format" in args and args[args.index("--format") + 1] == "json":
        json.loads(result.stdout)
    return result.stdout


def run_job(
    workflow: dict, job_id: str, workdir: Path, values: dict[str, str], asv_results: Path
) -> list[str]:
    """Run the job's sqrtwatch commands in order; return the subcommands run."""
    job = workflow["jobs"][job_id]
    base_env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(workdir)),
        "GITHUB_STEP_SUMMARY": str(workdir / "step-summary.md"),
        "GITHUB_OUTPUT": str(workdir / "github-output"),
    }
    base_env |= resolve_env(workflow.get("env"), values, job_id) | resolve_env(job.get("env"), values, job_id)
    subcommands = []
    for step in job.get("steps", []):
        env = base_env | resolve_env(
            step.get("env"), values, f"{job_id}/{step.get('name', step.get('uses'))}"
        )
        uses = step.get("uses", "")
        if uses.startswith("actions/download-artifact@") and "results" in str(
            step["with"].get("pattern", "")
        ):
            path = re.sub(
                r"\$\{\{\s*env\.(\w+)\s*\}\}", functools.partial(_env_value, env), step["with"]["path"]
            )
            shutil.copytree(asv_results, workdir / path, dirs_exist_ok=True)
        for line in logical_lines(step.get("run", "")):
            if not line.startswith("sqrtwatch "):
                continue
            match = COMMAND.match(line)
            assert match, f"{job_id}: cannot read the command {line!r}"
            args = expand(match["args"], env, workdir)
            subcommands.append(args[0])
            if args[0] == "run":
                stand_in_for_run(args[1:], workdir, asv_results)
                continue
            output = run_command(args, env, workdir)
            if match["redirect"]:
                (target,) = expand(match["target"], env, workdir)
                target_path = workdir / target
                target_path.parent.mkdir(parents=True, exist_ok=True)
                with target_path.open("a" if match["redirect"] == ">>" else "w") as handle:
                    handle.write(output)
    return subcommands


@pytest.mark.slow
def test_workflow_commands_run_against_a_tiny_results_set(asv_results, tmp_path, commits):
    ran = set()
    for path in sorted(WORKFLOW_DIR.glob("*.yml")):
        workflow = load(path)
        for job_id in workflow["jobs"]:
            workdir = tmp_path / path.stem / job_id
            workdir.mkdir(parents=True)
            values = expression_values(commits, f"sqlite:///{workdir / 'sqrtwatch.db'}")
            ran |= set(run_job(workflow, job_id, workdir, values, asv_results))
    assert ran >= EXPECTED_SUBCOMMANDS, f"no workflow runs: {sorted(EXPECTED_SUBCOMMANDS - ran)}"

    # The PR job's report, which the comment workflow posts, compares the merge base with the head.
    pull_request = load(WORKFLOW_DIR / "pull-request.yml")["jobs"]["compare"]
    markdown = (
        tmp_path / "pull-request" / "compare" / pull_request["env"]["REPORT_DIR"] / "comparison.md"
    ).read_text()
    assert commits["base"][:8] in markdown and commits["head"][:8] in markdown, markdown[:500]
