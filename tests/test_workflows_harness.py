"""The workflows' failure cases, run through tests/gha_harness.py as a GitHub runner would.

A depth-1 checkout, a failing benchmark cell, a cancelled run, `gh` failing or refusing during
the data store's pull and push, and results of runs whose publish never happened.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import REPO_ROOT
from tests.gha_harness import Job, load_workflow, shallow_clone, upload_artifact

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
TAG = "sqrtwatch-data"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return shallow_clone(tmp_path_factory.mktemp("clone"))


# -- a depth-1 checkout ---------------------------------------------------------------------


def test_the_harness_checkout_is_as_shallow_as_githubs(checkout):
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True).returncode == 0
    assert subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=checkout, capture_output=True).returncode != 0
    assert (checkout / ".git" / "shallow").is_file()


@pytest.mark.slow
def test_the_workflow_tests_pass_in_a_depth_1_checkout(checkout):
    """tests.yml checks out one commit deep: the tests must not need history."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "",
            "tests/test_workflows_commands.py",
        ],
        cwd=checkout,
        env={
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "PYTHONPATH": str(checkout),
            "HOME": str(checkout),
        },
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]


# -- a failing cell, a cancelled run --------------------------------------------------------


def raising_sqrt(x):
    raise RuntimeError("planted failure")


BENCH_VALUES = {
    "PIP_EXTRA_INDEX_URL": "",
    "TORCH_VERSION": "2.13.0",
    "PROFILE": "full",
    "SQRTWATCH_MACHINE": "gha-harness",
    "REQUIRE_DEVICE": "",
    "MAX_PROFILE": "full",
    "matrix.runner": "linux-cpu",
    "matrix.torch": "2.13.0",
}
PLANTED = r"bench_alternatives\.Alternatives\.time_sqrt\('(boom|torch\.sqrt)', 'cpu', 'float64', 1000\)"


def sqrtwatch_without_torch_matrix(bin_dir: Path, bench: str) -> Path:
    """A ``sqrtwatch`` on PATH that runs the real one in this Python instead of an asv virtualenv
    per --torch version (building those is out of reach here), on one tiny ``--bench``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "sqrtwatch"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "args = sys.argv[1:]\n"
        "while '--torch' in args:\n"
        "    i = args.index('--torch'); del args[i:i + 2]\n"
        f"args += ['--bench', {bench!r}]\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'sqrtwatch', *args])\n"
    )
    shim.chmod(0o755)
    return bin_dir


@pytest.mark.slow
def test_a_failing_cell_fails_the_job_but_its_other_results_are_uploaded(checkout, tmp_path):
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "planted_impl.py").write_text(
        "def raising_sqrt(x):\n    raise RuntimeError('planted failure')\n"
    )
    artifacts = tmp_path / "artifacts"
    job = Job(
        checkout / WORKFLOWS.relative_to(REPO_ROOT) / "benchmarks.yml",
        "bench",
        checkout,
        BENCH_VALUES,
        stand_ins={
            "Install sqrtwatch": lambda step, env: None,
            "actions/upload-artifact": upload_artifact(artifacts, checkout, BENCH_VALUES),
        },
        extra_path=[sqrtwatch_without_torch_matrix(tmp_path / "shim", PLANTED)],
        # asv hands benchmark processes ASV_PYTHONPATH, not PYTHONPATH.
        extra_env={"SQRTWATCH_IMPLS": "boom=planted_impl:raising_sqrt", "ASV_PYTHONPATH": str(planted)},
    )
    results = {r.name: r for r in job.run()}
    run_step = next(r for name, r in results.items() if name.startswith("Run the suites"))
    assert run_step.outcome == "failure", run_step.output[-2000:]
    assert (
        "failed: bench_alternatives.Alternatives.time_sqrt('boom', 'cpu', 'float64', 1000)" in run_step.output
    )
    assert job.status == "failure"
    assert results["Devices seen"].outcome == "success", results["Devices seen"].output
    upload = next(r for name, r in results.items() if name.startswith("actions/upload-artifact@"))
    assert upload.outcome == "success", upload.output

    uploaded = artifacts / "results-linux-cpu-torch2.13.0"
    (results_file,) = [p for p in (uploaded / "gha-harness").glob("*.json") if p.name != "machine.json"]
    (context,) = (uploaded / "sqrtwatch-context" / "gha-harness").glob("*.json")
    assert context.name == results_file.name
    data = json.loads(results_file.read_text())
    values, params = data["results"]["bench_alternatives.Alternatives.time_sqrt"][:2]
    cells = dict(zip(itertools.product(*params), values))
    assert cells[("'boom'", "'cpu'", "'float64'", "1000")] is None  # asv's mark of a failed cell
    assert cells[("'torch.sqrt'", "'cpu'", "'float64'", "1000")] > 0


def test_a_cancelled_run_uploads_nothing_half_done(checkout, tmp_path):
    """Cancelled while measuring: the upload (if: !cancelled()) does not run, so no partial
    artifact is mistaken for a finished one."""
    artifacts = tmp_path / "artifacts"
    run_name = "Run the suites in the torch ${{ matrix.torch }} environment"
    job = Job(
        checkout / WORKFLOWS.relative_to(REPO_ROOT) / "benchmarks.yml",
        "bench",
        checkout,
        BENCH_VALUES,
        stand_ins={
            "Install sqrtwatch": lambda step, env: None,
            run_name: lambda step, env: (checkout / "results").mkdir(exist_ok=True),
            "actions/upload-artifact": upload_artifact(artifacts, checkout, BENCH_VALUES),
        },
        cancel_after=run_name,
    )
    outcomes = [r.outcome for r in job.run()]
    assert outcomes[-2:] == ["skipped", "skipped"]
    assert not artifacts.exists()


def test_a_gpu_job_on_a_runner_without_its_device_fails_before_measuring(checkout, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a usable CUDA device")
    job = Job(
        checkout / WORKFLOWS.relative_to(REPO_ROOT) / "benchmarks.yml",
        "bench",
        checkout,
        BENCH_VALUES | {"REQUIRE_DEVICE": "cuda", "matrix.runner": "gpu"},
        stand_ins={
            "Install sqrtwatch": lambda step, env: None,
            "actions/upload-artifact": upload_artifact(tmp_path / "artifacts", checkout, BENCH_VALUES),
        },
        extra_path=[sqrtwatch_without_torch_matrix(tmp_path / "shim", PLANTED)],
    )
    run_step = next(r for r in job.run() if r.name.startswith("Run the suites"))
    assert run_step.outcome == "failure"
    assert "required device unusable on this machine: cuda (no CUDA device)" in run_step.output
    assert job.status == "failure"


def test_the_pr_job_interleaves_base_and_head_rounds():
    """The PR job's two --commit options reach asv as --interleave-rounds, read by asv's own parser."""
    from asv.commands import make_argparser

    from sqrtwatch.cli import main
    from sqrtwatch.runner import commit_selection

    (step,) = [
        s
        for s in load_workflow(WORKFLOWS / "pull-request.yml")["jobs"]["compare"]["steps"]
        if "sqrtwatch run" in s.get("run", "")
    ]
    words = step["run"].split()[2:]
    command = main.get_command(click.Context(main), "run")
    assert command is not None
    params = command.make_context("run", words).params
    assert len(params["commits"]) == 2
    selection = commit_selection(Path("/tmp/commits.txt"), list(params["commits"]))
    parser, _ = make_argparser()
    parsed = parser.parse_args(["run", *selection])
    assert parsed.interleave_rounds is True
    assert parsed.range == "HASHFILE:/tmp/commits.txt"
    assert "--interleave-rounds" not in commit_selection(Path("/tmp/commits.txt"), ["a" * 40])


# -- the data store: pull, push, outages, interruptions ------------------------------------


PUBLISH_VALUES = {
    "TORCH_VERSION": "2.13.0",
    "GH_TOKEN": "token",
    "SQRTWATCH_DB": "sqlite:///.sqrtwatch/sqrtwatch.db",
    "RUN_ID": "1000",
    "BRANCH": "main",
    "github.run_id": "1000",
    "vars.SQRTWATCH_PAGES": "false",
}


def database_rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM filed ORDER BY name")]


def publish_job(checkout: Path, gh_state: Path, run_id: str, fail: str | None = None) -> Job:
    """The publish job, its measuring and filing steps stood in for: each run files one row
    into the database and one file into the results history."""
    data, incoming = checkout / ".sqrtwatch", checkout / "incoming"

    def download(step, env):
        (incoming / "this-run").mkdir(parents=True, exist_ok=True)
        (incoming / "this-run" / f"run-{run_id}.json").write_text("{}")

    def ingest(step, env):
        with sqlite3.connect(data / "sqrtwatch.db") as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS filed (name TEXT)")
            for folder in sorted(incoming.iterdir()):
                connection.execute("INSERT INTO filed VALUES (?)", (f"{run_id}:{folder.name}",))

    def publish(step, env):
        for folder in incoming.iterdir():
            for path in folder.iterdir():
                (data / "results" / path.name).write_text(path.read_text())

    return Job(
        checkout / WORKFLOWS.relative_to(REPO_ROOT) / "benchmarks.yml",
        "publish",
        checkout,
        PUBLISH_VALUES | {"github.run_id": run_id, "RUN_ID": run_id},
        stand_ins={
            "Install sqrtwatch": lambda step, env: None,
            "actions/download-artifact": download,
            "Ingest the new results": ingest,
            "Detect regressions": lambda step, env: None,
            "Publish the asv site and the dashboard data": publish,
        },
        gh_state=gh_state,
        extra_env={"FAKE_GH_FAIL": fail} if fail else {},
    )


def fresh(checkout: Path) -> Path:
    """The checkout as a new job finds it (nothing left from an earlier job)."""
    for name in (".sqrtwatch", "incoming"):
        subprocess.run(["rm", "-rf", str(checkout / name)], check=True)
    return checkout


def outcomes(job: Job) -> dict[str, str]:
    return {result.name: result.outcome for result in job.run()}


def release(gh_state: Path) -> Path:
    return gh_state / "releases" / TAG


def unpacked_db(path: Path, tmp_path: Path) -> list[str]:
    target = tmp_path / f"unpacked-{path.name}.db"
    target.write_bytes(gzip.decompress(path.read_bytes()))
    return database_rows(target)


def test_first_run_creates_the_store_and_the_next_keeps_a_previous_copy(checkout, tmp_path):
    gh = tmp_path / "gh"
    first = outcomes(publish_job(fresh(checkout), gh, "1000"))
    assert set(first.values()) <= {"success", "skipped"}, first
    assert sorted(p.name for p in release(gh).iterdir()) == ["results.tar.gz", "sqrtwatch.db.gz"]

    second = outcomes(publish_job(fresh(checkout), gh, "1001"))
    assert set(second.values()) <= {"success", "skipped"}, second
    assets = sorted(p.name for p in release(gh).iterdir())
    assert assets == [
        "previous-results.tar.gz",
        "previous-sqrtwatch.db.gz",
        "results.tar.gz",
        "sqrtwatch.db.gz",
    ]
    assert unpacked_db(release(gh) / "sqrtwatch.db.gz", tmp_path) == ["1000:this-run", "1001:this-run"]
    assert unpacked_db(release(gh) / "previous-sqrtwatch.db.gz", tmp_path) == ["1000:this-run"]


@pytest.mark.parametrize("fail", ["outage", "ratelimit"])
def test_an_outage_during_the_pull_never_overwrites_the_history(checkout, tmp_path, fail):
    gh = tmp_path / "gh"
    outcomes(publish_job(fresh(checkout), gh, "1000"))
    before = {p.name: p.read_bytes() for p in release(gh).iterdir()}

    result = outcomes(publish_job(fresh(checkout), gh, "1001", fail=fail))
    assert result["Collect the results of earlier runs whose publish was cancelled or failed"] == "failure"
    assert result["Save the database and the results history"] == "skipped"
    assert {p.name: p.read_bytes() for p in release(gh).iterdir()} == before

    # The pull on its own tells the outage from "no release yet", and push then refuses.
    env = {"PATH": f"{checkout.parent / 'runner-publish' / 'bin'}:/usr/bin:/bin", "FAKE_GH_DIR": str(gh)}
    store = [".github/scripts/data_store.sh"]
    pull = subprocess.run(
        [*store, "pull", ".sqrtwatch"],
        cwd=fresh(checkout),
        capture_output=True,
        text=True,
        env=env | {"FAKE_GH_FAIL": fail},
    )
    assert pull.returncode != 0 and "cannot tell whether release" in pull.stderr, pull.stderr
    assert "empty history" not in pull.stdout
    push = subprocess.run(
        [*store, "push", ".sqrtwatch"], cwd=checkout, capture_output=True, text=True, env=env
    )
    assert push.returncode != 0 and "no successful pull" in push.stderr
    assert {p.name: p.read_bytes() for p in release(gh).iterdir()} == before


def test_a_push_cut_short_keeps_the_previous_copy_and_the_next_pull_stops(checkout, tmp_path):
    gh = tmp_path / "gh"
    outcomes(publish_job(fresh(checkout), gh, "1000"))
    cut = outcomes(publish_job(fresh(checkout), gh, "1001", fail="upload:sqrtwatch.db.gz"))
    assert cut["Save the database and the results history"] == "failure"
    assert not (release(gh) / "sqrtwatch.db.gz").exists()
    assert unpacked_db(release(gh) / "previous-sqrtwatch.db.gz", tmp_path) == ["1000:this-run"]

    job = publish_job(fresh(checkout), gh, "1002")
    results = {r.name: r for r in job.run()}
    fetch = results["Fetch the database and the results history"]
    assert fetch.outcome == "failure" and "interrupted" in fetch.output
    assert results["Save the database and the results history"].outcome == "skipped"


def test_a_corrupt_database_asset_is_refused_by_the_pull(checkout, tmp_path):
    gh = tmp_path / "gh"
    outcomes(publish_job(fresh(checkout), gh, "1000"))
    (release(gh) / "sqrtwatch.db.gz").write_bytes(gzip.compress(b"SQLite format 3\0" + b"\xff" * 5000))
    job = publish_job(fresh(checkout), gh, "1001")
    results = {r.name: r for r in job.run()}
    fetch = results["Fetch the database and the results history"]
    assert fetch.outcome == "failure" and "sqrtwatch.db.gz" in fetch.output


def test_results_of_runs_whose_publish_was_cancelled_are_filed_by_the_next(checkout, tmp_path):
    gh = tmp_path / "gh"
    for run_id, publish in [("900", "cancelled"), ("901", "success"), ("902", None)]:
        folder = gh / "runs" / run_id
        artifact = folder / "artifacts" / "results-linux-cpu-torch2.13.0"
        artifact.mkdir(parents=True)
        (artifact / f"measured-in-{run_id}.json").write_text("{}")
        jobs = [{"name": "bench", "conclusion": "success"}]
        if publish:
            jobs.append({"name": "publish", "conclusion": publish})
        (folder / "run.json").write_text(json.dumps({"jobs": jobs}))

    result = outcomes(publish_job(fresh(checkout), gh, "1000"))
    assert set(result.values()) <= {"success", "skipped"}, result
    db = tmp_path / "pulled.db"
    db.write_bytes(gzip.decompress((release(gh) / "sqrtwatch.db.gz").read_bytes()))
    assert database_rows(db) == ["1000:run-900", "1000:run-902", "1000:this-run"]
    assert (checkout / ".sqrtwatch" / "results" / "measured-in-900.json").is_file()
    assert not (checkout / ".sqrtwatch" / "results" / "measured-in-901.json").exists()


def test_a_job_without_the_permission_cannot_push(checkout, tmp_path):
    """The fake gh refuses like GitHub: the PR job's read-only token cannot touch the store."""
    gh = tmp_path / "gh"
    (release(gh)).mkdir(parents=True)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "FAKE_GH_DIR": str(gh),
        "FAKE_GH_PERMISSIONS": json.dumps({"contents": "read"}),
    }
    from tests.gha_harness import install_fake_gh

    install_fake_gh(tmp_path / "bin")
    store = [".github/scripts/data_store.sh"]
    fresh(checkout)
    assert subprocess.run([*store, "pull", ".sqrtwatch"], cwd=checkout, env=env).returncode == 0
    push = subprocess.run(
        [*store, "push", ".sqrtwatch"], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert push.returncode != 0 and "403" in push.stderr


# -- a same-code pull request ---------------------------------------------------------------


def pr_job(checkout: Path, tmp_path: Path, history_release: bool) -> Job:
    """The PR job over a same-code PR: base and head measured 13 % apart (one noisy moment of a
    shared runner, 0.4 % spread inside each run, so the samples call it significant), and,
    if ``history_release``, the nightly history of that runner kind with 5 % run-to-run noise."""
    import math

    import numpy as np

    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect
    from tests.asv_history import BenchmarkSpec, commit_hash, write_history

    spec = BenchmarkSpec("bench_throughput.Noisy.time_sqrt", [["'float32'"]], ["dtype"])
    gh = tmp_path / "gh"
    if history_release:
        rng = np.random.default_rng(3)
        rows = [[1e-4 * math.exp(rng.normal(0, 0.05))] for _ in range(20)]
        write_history(tmp_path / "nightly", [spec], {spec.name: rows}, machine="gha-ubuntu-latest")
        engine = connect(f"sqlite:///{tmp_path / 'history.db'}")
        assert not ingest_results_dir(engine, tmp_path / "nightly").errors
        engine.dispose()
        release(gh).mkdir(parents=True)
        (release(gh) / "sqrtwatch.db.gz").write_bytes(gzip.compress((tmp_path / "history.db").read_bytes()))
    pr_results = tmp_path / "pr-results"
    base, head = write_history(
        pr_results, [spec], {spec.name: [[1e-4], [1.13e-4]]}, machine="gha-pr-ubuntu-latest", first_commit=20
    )

    def merge_base(step, env):
        Path(env["GITHUB_OUTPUT"]).write_text(f"sha={base}\n")

    def benchmark(step, env):
        shutil.copytree(pr_results, checkout / env["RESULTS_DIR"], dirs_exist_ok=True)

    for name in ("pr.db", "pr-results", "pr-report", "history"):
        subprocess.run(["rm", "-rf", str(checkout / name)], check=True)
    values = {
        "PIP_EXTRA_INDEX_URL": "",
        "PR_NUMBER": "7",
        "PR_BASE_SHA": base,
        "HEAD_SHA": head,
        "GH_TOKEN": "token",
    }
    assert commit_hash(21) == head
    return Job(
        checkout / WORKFLOWS.relative_to(REPO_ROOT) / "pull-request.yml",
        "compare",
        checkout,
        values,
        stand_ins={
            "Install sqrtwatch": lambda step, env: None,
            "Merge base": merge_base,
            "Benchmark merge base and head, interleaved": benchmark,
            "actions/upload-artifact": upload_artifact(tmp_path / "artifacts", checkout, values),
        },
        gh_state=gh,
    )


def test_a_same_code_pr_passes_with_the_historys_noise(checkout, tmp_path):
    job = pr_job(checkout, tmp_path, history_release=True)
    results = {r.name: r for r in job.run()}
    assert results["Fetch the history's database (read-only)"].outcome == "success"
    assert results["Compare"].outcome == "success"
    assert results["Fail on a significant regression"].outcome == "skipped", (
        checkout / "pr-report" / "comparison.md"
    ).read_text()
    assert job.status == "success"
    report = (checkout / "pr-report" / "comparison.md").read_text()
    assert "1 within noise" in report and "noise unknown" not in report


def test_without_history_the_same_code_pr_would_fail_the_check(checkout, tmp_path):
    """The control: no release yet, so only the factor holds and the noisy 13 % trips it."""
    job = pr_job(checkout, tmp_path, history_release=False)
    results = {r.name: r for r in job.run()}
    assert "no release sqrtwatch-data yet" in results["Fetch the history's database (read-only)"].output
    assert results["Fail on a significant regression"].outcome == "failure"
    assert "noise unknown for 1" in (checkout / "pr-report" / "comparison.md").read_text()
