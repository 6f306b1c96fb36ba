"""``sqrtwatch run``: run the asv suites here, then record each results file's context.

By default asv runs in the current Python environment (no rebuild per commit); with
torch versions given, it runs in one asv virtualenv per version (see asv.conf.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqrtwatch.context import collect_context, context_path, write_context

PROFILE_ENV_VAR = "SQRTWATCH_PROFILE"
# The accuracy suite writes its rich detail (worst inputs, special values,
# fingerprints) as JSON files into this directory; they go into the context file.
DETAIL_ENV_VAR = "SQRTWATCH_DETAIL_DIR"


class RunError(RuntimeError):
    """asv could not run, or its results could not be found."""


@dataclass(frozen=True)
class Checkout:
    """The sqrtwatch checkout whose suites run: its root and current commit."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Checkout:
        """The nearest directory at or above ``start`` holding ``asv.conf.json``."""
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "asv.conf.json").is_file():
                return cls(candidate)
        raise RunError(f"no asv.conf.json in {here} or above: run sqrtwatch from its checkout")

    @property
    def config(self) -> dict:
        path = self.root / "asv.conf.json"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"{path}: cannot read asv configuration: {exc}") from exc

    def head_commit(self) -> str:
        try:
            return subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=self.root, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RunError(f"{self.root}: not a git checkout with a commit ({exc})") from exc


def _asv(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "asv", *args]
    completed = subprocess.run(command, cwd=cwd, env=env)
    if completed.returncode != 0:
        raise RunError(f"asv exited with status {completed.returncode}: {' '.join(command)}")


def write_run_config(checkout: Checkout, results_dir: Path, config_path: Path) -> Path:
    """An asv config equal to the checkout's, with absolute paths and ``results_dir`` replaced."""
    config = checkout.config
    config["repo"] = str(checkout.root)
    for key in ("benchmark_dir", "env_dir", "html_dir"):
        if key in config:
            config[key] = str((checkout.root / config[key]).resolve())
    config["results_dir"] = str(results_dir.resolve())
    config_path.write_text(json.dumps(config, indent=2))
    return config_path


def machine_name() -> str:
    """The asv machine name this host registers as (asv's default: the host name)."""
    import platform

    return platform.node()


def run_suites(results_dir: Path, quick: bool, bench: list[str], torch_versions: list[str]) -> None:
    """Run the suites into ``results_dir`` and write a context file per new results file."""
    checkout = Checkout.find()
    commit = checkout.head_commit()
    results_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_name()
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-asv-") as tmp:
        config_path = write_run_config(checkout, results_dir, Path(tmp) / "asv.conf.json")
        detail_dir = Path(tmp) / "detail"
        detail_dir.mkdir()
        _run_asv(checkout, config_path, detail_dir, machine, commit, quick, bench, torch_versions)
        accuracy = load_accuracy_details(detail_dir)
    written = record_contexts(
        results_dir, machine, commit, profile="quick" if quick else "full", accuracy=accuracy
    )
    if not written:
        raise RunError(f"asv wrote no results for commit {commit[:8]} under {results_dir / machine}")
    for path in written:
        print(f"context: {path}")


def _run_asv(
    checkout: Checkout,
    config_path: Path,
    detail_dir: Path,
    machine: str,
    commit: str,
    quick: bool,
    bench: list[str],
    torch_versions: list[str],
) -> None:

    env = dict(os.environ)
    env[PROFILE_ENV_VAR] = "quick" if quick else "full"
    env[DETAIL_ENV_VAR] = str(detail_dir)

    _asv(["machine", "--yes", "--config", str(config_path), "--machine", machine], checkout.root, env)
    if torch_versions:
        raise RunError("--torch needs the asv torch matrix (not configured yet)")
    environments = ["--environment", f"existing:{sys.executable}"]
    args = [
        "run",
        "--config",
        str(config_path),
        "--machine",
        machine,
        "--set-commit-hash",
        commit,
        "--record-samples",
        "--show-stderr",
        "--launch-method",
        "spawn",
        *environments,
    ]
    for pattern in bench:
        args += ["--bench", pattern]
    _asv(args, checkout.root, env)


def load_accuracy_details(detail_dir: Path) -> list[dict]:
    """The accuracy reports the suite left in ``detail_dir``, in a stable order."""
    details = []
    for path in sorted(detail_dir.glob("*.json")):
        try:
            details.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"{path}: unreadable accuracy detail: {exc}") from exc
    return details


def record_contexts(
    results_dir: Path, machine: str, commit: str, profile: str, accuracy: list[dict]
) -> list[Path]:
    """Write the context of this environment beside each results file of ``commit``."""
    context = collect_context() | {"profile": profile, "sqrtwatch_commit": commit, "accuracy": accuracy}
    written = []
    for results_file in sorted((results_dir / machine).glob(f"{commit[:8]}-*.json")):
        path = context_path(results_dir, machine, results_file.stem)
        write_context(path, context)
        written.append(path)
    return written
