"""``sqrtwatch run``: run the asv suites here, then record each results file's context and archive both.

By default asv runs in the current Python environment (no rebuild per commit); with
torch versions given, it runs in one asv virtualenv per version (see asv.conf.json and
sqrtwatch.torch_matrix), and may then measure several commits, interleaved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqrtwatch import asv_output, torch_matrix
from sqrtwatch.archive import archive_dir, archive_run
from sqrtwatch.context import context_path, write_context

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

    def resolve_commit(self, revision: str) -> str:
        """The full hash of ``revision`` (a hash, branch, tag or ``HEAD~1``) in this checkout."""
        completed = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
            cwd=self.root,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RunError(f"{self.root}: no commit {revision!r} in this checkout")
        return completed.stdout.strip()


def _asv(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run asv, its skip lines summarised (``asv_output``)."""
    command = [sys.executable, "-m", "asv", *args]
    returncode = asv_output.run_relayed(command, cwd=cwd, env=env)
    if returncode != 0:
        raise RunError(f"asv exited with status {returncode}: {' '.join(command)}")


def _register_machine(config_path: Path, machine: str, cwd: Path, env: dict[str, str]) -> None:
    """``asv machine --yes``: its questionnaire is shown only if it fails."""
    command = [
        sys.executable,
        "-m",
        "asv",
        "machine",
        "--yes",
        "--config",
        str(config_path),
        "--machine",
        machine,
    ]
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RunError(f"asv could not register machine {machine!r}:\n{completed.stdout}{completed.stderr}")


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


def machine_name(override: str | None = None) -> str:
    """The asv machine name to register as: ``override``, else asv's default, the host name.

    CI passes a stable name, since hosted runners get a new host name on every job.
    """
    import platform

    name = platform.node() if override is None else override
    if not name or name.strip() != name or any(sep in name for sep in ("/", "\\")) or name in (".", ".."):
        raise RunError(f"machine name {name!r} cannot name a results folder")
    return name


def run_suites(
    results_dir: Path,
    quick: bool,
    bench: list[str],
    torch_versions: list[str],
    machine: str | None = None,
    commits: list[str] | None = None,
) -> None:
    """Run the suites into ``results_dir`` and write a context file per new results file.

    Without ``torch_versions`` asv runs in this Python on the working tree, tagged with HEAD.
    With them it runs one virtualenv per torch version, on ``commits`` (default HEAD) as
    committed, interleaving the rounds of every (commit, version) pair on this machine.
    """
    checkout = Checkout.find()
    if commits and not torch_versions:
        raise RunError("--commit needs --torch: this Python holds only the working tree")
    results_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_name(machine)
    profile = "quick" if quick else "full"
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-asv-") as tmp:
        config_path = write_run_config(checkout, results_dir, Path(tmp) / "asv.conf.json")
        detail_dir = Path(tmp) / "detail"
        detail_dir.mkdir()
        if torch_versions:
            hashes = [checkout.resolve_commit(c) for c in commits or ["HEAD"]]
            written = _run_matrix(
                checkout,
                config_path,
                detail_dir,
                machine,
                hashes,
                profile,
                bench,
                torch_versions,
                results_dir,
            )
        else:
            commit = checkout.head_commit()
            env_args = ["--environment", f"existing:{sys.executable}", "--set-commit-hash", commit]
            env = benchmark_env(profile, detail_dir)
            _run_asv(checkout, config_path, env, machine, profile, bench, env_args)
            context = collect_context_as_benchmarks(checkout, env)
            accuracy = load_accuracy_details(detail_dir)
            written = record_contexts(results_dir, machine, commit, profile, accuracy, context)
            if not written:
                raise RunError(f"asv wrote no results for commit {commit[:8]} under {results_dir / machine}")
    for path in written:
        print(f"context: {path}")
        archive_run(results_dir, machine, path.stem)
    print(f"archived {len(written)} results files under {archive_dir(results_dir)}")


def _run_matrix(
    checkout: Checkout,
    config_path: Path,
    detail_dir: Path,
    machine: str,
    commits: list[str],
    profile: str,
    bench: list[str],
    torch_versions: list[str],
    results_dir: Path,
) -> list[Path]:
    """Run the suites in one asv virtualenv per torch version; return the context files written."""
    try:
        versions = torch_matrix.resolve_torch_versions(torch_versions, checkout.config)
        config = torch_matrix.matrix_config(
            json.loads(config_path.read_text()), versions, torch_matrix.this_python()
        )
        config_path.write_text(json.dumps(config, indent=2))
        hash_file = config_path.with_name("commits.txt")
        hash_file.write_text("".join(f"{commit}\n" for commit in commits))
        env = benchmark_env(profile, detail_dir)
        _run_asv(checkout, config_path, env, machine, profile, bench, [f"HASHFILE:{hash_file}"])
        return record_matrix_contexts(config_path, results_dir, machine, commits, profile, detail_dir, env)
    except torch_matrix.MatrixError as exc:
        raise RunError(str(exc)) from exc


# Device nodes of the NVIDIA (CUDA) and AMD (ROCm) drivers.
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/kfd")


def launch_method() -> str:
    """How asv starts benchmark processes: ``forkserver`` on Linux without a GPU, else ``spawn``.

    asv starts one process per parameter cell. forkserver imports the suites (and torch) once
    and forks per cell (~0.05 s a cell on the 2-core dev box); spawn starts a fresh interpreter
    that imports torch again (~3.7 s a cell there). A GPU runtime does not survive a fork and
    macOS frameworks dislike it, so GPU hosts and non-Linux systems keep spawn.
    """
    if sys.platform != "linux" or any(Path(node).exists() for node in GPU_DEVICE_NODES):
        return "spawn"
    return "forkserver"


def benchmark_env(profile: str, detail_dir: Path) -> dict[str, str]:
    """The environment variables asv, and so every benchmark process, runs with."""
    return {**os.environ, PROFILE_ENV_VAR: profile, DETAIL_ENV_VAR: str(detail_dir)}


def collect_context_as_benchmarks(checkout: Checkout, env: dict[str, str]) -> dict:
    """The context as a benchmark process of the ``existing`` environment sees it.

    Collected in a fresh process of this Python with the benchmark processes'
    environment variables (and so whatever a sitecustomize or an ``LD_PRELOAD`` does
    to them): thread counts, affinity and floating-point modes are per process.
    """
    command = [sys.executable, "-m", "sqrtwatch.context"]
    completed = subprocess.run(command, cwd=checkout.root, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RunError(f"python -m sqrtwatch.context failed:\n{completed.stderr.strip()}")
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise RunError(f"python -m sqrtwatch.context printed no JSON: {exc}") from exc


def _run_asv(
    checkout: Checkout,
    config_path: Path,
    env: dict[str, str],
    machine: str,
    profile: str,
    bench: list[str],
    selection: list[str],
) -> None:
    """Register the machine, then ``asv run`` with ``selection`` (environment or commit arguments)."""
    _register_machine(config_path, machine, checkout.root, env)
    args = [
        "run",
        "--config",
        str(config_path),
        "--machine",
        machine,
        "--record-samples",
        "--show-stderr",
        "--launch-method",
        launch_method(),
        *selection,
    ]
    if profile == "quick" and not bench:
        bench = quick_bench_patterns(checkout)
    for pattern in bench:
        args += ["--bench", pattern]
    _asv(args, checkout.root, env)


def quick_bench_patterns(checkout: Checkout) -> list[str]:
    """The suite's own ``--bench`` patterns for its quick-profile cells (``benchmarks/profiles.py``).

    Asked of the suite in a subprocess, so that this process never imports the benchmarks.
    """
    benchmark_dir = (checkout.root / checkout.config.get("benchmark_dir", "benchmarks")).resolve()
    command = [sys.executable, "-m", f"{benchmark_dir.name}.profiles"]
    completed = subprocess.run(command, cwd=benchmark_dir.parent, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RunError(
            f"{benchmark_dir}/profiles.py cannot list the quick profile:\n{completed.stderr.strip()}"
        )
    return completed.stdout.splitlines()


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
    results_dir: Path, machine: str, commit: str, profile: str, accuracy: list[dict], context: dict
) -> list[Path]:
    """Write ``context`` (of this environment) beside each results file of ``commit``."""
    context = context | {"profile": profile, "sqrtwatch_commit": commit, "accuracy": accuracy}
    written = []
    # Only the existing environment's files: a matrix run of the same commit has its own contexts.
    for results_file in sorted((results_dir / machine).glob(f"{commit[:8]}-existing-*.json")):
        path = context_path(results_dir, machine, results_file.stem)
        write_context(path, context)
        written.append(path)
    return written


def record_matrix_contexts(
    config_path: Path,
    results_dir: Path,
    machine: str,
    commits: list[str],
    profile: str,
    detail_dir: Path,
    environ: dict[str, str] | None = None,
) -> list[Path]:
    """Write, beside each results file of the matrix run, the context of the environment that made it.

    The context is collected by the environment's own Python, so it names the torch it really ran.
    Accuracy detail comes from ``detail_dir/<env name>/<commit>/`` (the suite's processes see
    asv's ASV_ENV_NAME and ASV_COMMIT), plus top-level reports of the same torch version.
    """
    shared_accuracy = load_accuracy_details(detail_dir)
    from asv.results import get_filename

    written = []
    for env in torch_matrix.matrix_environments(config_path):
        requested = env.requirements["torch"]
        results_files = [results_dir / get_filename(machine, commit, env.name) for commit in commits]
        if not any(path.is_file() for path in results_files):
            raise RunError(f"asv wrote no results for {env.name} under {results_dir / machine}")
        env_context = torch_matrix.env_context(env, environ)
        torch_matrix.check_installed_torch(requested, env_context["torch_version"], env.name)
        env_context |= {"profile": profile, "asv_env_name": env.name}
        shared = torch_matrix.accuracy_for_torch(shared_accuracy, env_context["torch_version"])
        for commit, results_file in zip(commits, results_files):
            if results_file.is_file():
                accuracy = load_accuracy_details(detail_dir / env.name / commit) + shared
                path = context_path(results_dir, machine, results_file.stem)
                write_context(path, env_context | {"sqrtwatch_commit": commit, "accuracy": accuracy})
                written.append(path)
    return written
