"""Run a workflow job's steps here the way a GitHub runner would.

What GitHub provides is stood in for: the checkout is a depth-1 clone (actions/checkout's
default); the step shell is ``bash --noprofile --norc -eo pipefail``; the default variables
(CI, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_RUN_ID...) are set; ``gh`` is
tests/fake_gh.py on PATH, refusing what the job's ``permissions:`` do not grant; ``if:``
conditions with the status functions and ``steps.*`` are evaluated; ``${{ }}`` values of
``env:`` come from the caller by variable name. Actions (``uses:``) and steps too heavy for
here are replaced by the caller's stand-ins, by action name or step name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT

STEP_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
FAKE_GH = Path(__file__).with_name("fake_gh.py")
TOKEN = re.compile(r"\s*('[^']*'|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*|==|!=|&&|\|\||!|\(|\))")


def load_workflow(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def shallow_clone(tmp: Path, source: Path = REPO_ROOT) -> Path:
    """A depth-1 clone of ``source``'s working tree, committed on top of an earlier commit."""
    origin = tmp / "origin"
    files = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=source).split("\0")
    for name in filter(None, files):
        path, target = source / name, origin / name
        if path.is_symlink():  # sqrtwatch/db -> ../db: copied as the link git stores
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path.readlink())
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    identity = ["-c", "user.name=harness", "-c", "user.email=harness@example.invalid"]
    git("init", "-q", "-b", "main", cwd=origin)
    git(*identity, "commit", "-q", "--allow-empty", "-m", "earlier", cwd=origin)
    git("add", "-A", cwd=origin)
    git(*identity, "commit", "-q", "-m", "head", cwd=origin)
    checkout = tmp / "checkout"
    git("clone", "-q", "--depth", "1", f"file://{origin}", str(checkout), cwd=tmp)
    return checkout


def install_fake_gh(bin_dir: Path) -> Path:
    """A ``gh`` executable in ``bin_dir`` that runs tests/fake_gh.py."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n')
    gh.chmod(0o755)
    return gh


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure or skipped
    output: str = ""


@dataclass
class Job:
    """One job of a workflow, run in ``workspace`` (the checkout) with ``values`` for its expressions."""

    workflow_path: Path
    job_id: str
    workspace: Path
    values: dict[str, str] = field(default_factory=dict)
    stand_ins: dict[str, Callable[[dict, dict[str, str]], None]] = field(default_factory=dict)
    gh_state: Path | None = None
    cancel_after: str | None = None  # a step name: the run is cancelled once it finishes
    extra_path: list[Path] = field(default_factory=list)  # ahead of everything on PATH
    extra_env: dict[str, str] = field(default_factory=dict)  # the runner machine's environment

    def __post_init__(self):
        self.workflow = load_workflow(self.workflow_path)
        self.job = self.workflow["jobs"][self.job_id]
        self.steps: dict[str, dict] = {}
        self.status = "success"
        self.cancelled = False
        self.runner = self.workspace.parent / f"runner-{self.job_id}"
        self.runner.mkdir(parents=True, exist_ok=True)

    def base_env(self) -> dict[str, str]:
        bin_dir = self.runner / "bin"
        install_fake_gh(bin_dir)
        env = {
            "PATH": os.pathsep.join(
                [
                    *map(str, self.extra_path),
                    str(bin_dir),
                    str(Path(sys.executable).parent),
                    os.environ["PATH"],
                ]
            ),
            "HOME": os.environ.get("HOME", str(self.runner)),
            # install.sh's editable install stands in as: the checkout's code comes first.
            "PYTHONPATH": str(self.workspace),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(self.runner / "output"),
            "GITHUB_STEP_SUMMARY": str(self.runner / "summary.md"),
            "GITHUB_RUN_ID": self.values.get("github.run_id", "1000"),
            "GITHUB_REPOSITORY": "o/r",
            "RUNNER_TEMP": str(self.runner / "temp"),
            "FAKE_GH_DIR": str(self.gh_state or self.runner / "gh"),
            "FAKE_GH_PERMISSIONS": json.dumps(self.job.get("permissions") or {}),
        }
        env |= self.extra_env
        return env | self.resolve(self.workflow.get("env")) | self.resolve(self.job.get("env"))

    def resolve(self, mapping: dict | None) -> dict[str, str]:
        resolved = {}
        for name, value in (mapping or {}).items():
            value = str(value)
            step_value = re.fullmatch(r"\$\{\{\s*(steps\.[\w.-]+)\s*\}\}", value)
            if step_value:
                value = self.lookup(step_value.group(1))  # what an earlier step left
            elif "${{" in value:
                if name not in self.values:
                    raise KeyError(f"{self.job_id}: give a value for {name}={value}")
                value = self.values[name]
            resolved[name] = value
        return resolved

    def condition(self, expression: str | None) -> bool:
        """GitHub's ``if:``: the status functions, ``steps.*``, literals and values by name."""
        if expression is None:
            return self.status == "success" and not self.cancelled
        text = str(expression).strip()
        text = text.removeprefix("${{").removesuffix("}}")
        python, position = [], 0
        for match in TOKEN.finditer(text):
            assert match.start() == position, f"cannot read {expression!r} at {text[position:]!r}"
            position = match.end()
            token = match.group(1)
            words = {"&&": "and", "||": "or", "!": "not", "(": "(", ")": ")", "==": "==", "!=": "!="}
            if token in words:
                python.append(words[token])
            elif token.startswith("'"):
                python.append(repr(token[1:-1]))
            elif token.endswith("()"):
                python.append(repr(self.status_function(token[:-2])))
            else:
                python.append(repr(self.lookup(token)))
        assert position == len(text.rstrip()), f"cannot read {expression!r}"
        return bool(eval(" ".join(python), {"__builtins__": {}}))  # only the tokens built above

    def status_function(self, name: str) -> bool:
        return {
            "always": True,
            "cancelled": self.cancelled,
            "success": self.status == "success" and not self.cancelled,
            "failure": self.status == "failure",
        }[name]

    def lookup(self, name: str) -> str:
        parts = name.split(".")
        if parts[0] == "steps":
            step = self.steps.get(parts[1], {"outcome": "", "outputs": {}})
            return step["outcome"] if parts[2] == "outcome" else step["outputs"].get(parts[3], "")
        return self.values[name]

    def run(self) -> list[StepResult]:
        """Every step in order, as the runner would; the results by step."""
        env = self.base_env()
        results = []
        for step in self.job.get("steps", []):
            name = step.get("name") or step.get("uses") or step.get("id")
            if not self.condition(step.get("if")):
                results.append(StepResult(name, "skipped"))
                continue
            step_env = env | self.resolve(step.get("env"))
            Path(step_env["GITHUB_OUTPUT"]).write_text("")
            outcome, output = self.run_step(step, name, step_env)
            outputs = dict(
                line.split("=", 1)
                for line in Path(step_env["GITHUB_OUTPUT"]).read_text().splitlines()
                if "=" in line
            )
            if step.get("id"):
                self.steps[step["id"]] = {"outcome": outcome, "outputs": outputs}
            if outcome == "failure" and not step.get("continue-on-error"):
                self.status = "failure"
            results.append(StepResult(name, outcome, output))
            if name == self.cancel_after:
                self.cancelled = True
        return results

    def run_step(self, step: dict, name: str, env: dict[str, str]) -> tuple[str, str]:
        action = step.get("uses", "").split("@")[0]
        stand_in = self.stand_ins.get(name) or self.stand_ins.get(action)
        if stand_in is not None:
            try:
                stand_in(step, env)
            except Exception as exc:  # the stand-in failed the way the action would
                return "failure", str(exc)
            return "success", ""
        if action in ("actions/checkout", "actions/setup-python"):
            return "success", ""  # the workspace is the checkout; this Python is the job's
        assert "run" in step, f"{self.job_id}: give a stand-in for step {name!r} ({action})"
        completed = subprocess.run(
            [*STEP_SHELL, step["run"]], cwd=self.workspace, env=env, capture_output=True, text=True
        )
        return ("success" if completed.returncode == 0 else "failure"), completed.stdout + completed.stderr


def upload_artifact(store: Path, workspace: Path, values: dict[str, str]):
    """actions/upload-artifact: copy ``with.path`` to ``store/<with.name>``; none found is an error."""

    def upload(step: dict, env: dict[str, str]) -> None:
        def expand(text: str) -> str:
            def value(match: re.Match) -> str:
                kind, name = match.group(1), match.group(2)
                return env[name] if kind == "env" else values[f"{kind}.{name}"]

            return re.sub(r"\$\{\{\s*(\w+)\.(\w+)\s*\}\}", value, text)

        source = workspace / expand(step["with"]["path"])
        if not source.exists() or not any(source.iterdir()):
            raise RuntimeError(f"no files found at {source}")
        shutil.copytree(source, store / expand(step["with"]["name"]), dirs_exist_ok=True)

    return upload
