"""The scripts the workflows call: the matrix planner, the sticky PR comment, the devices summary."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPT_DIR = REPO_ROOT / ".github" / "scripts"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPT_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmark_matrix = load_script("benchmark_matrix")
sticky_comment = load_script("sticky_comment")
devices_summary = load_script("devices_summary")


def run_script(name: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT_DIR / name), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        **kwargs,
    )


def outputs(stdout: str) -> dict[str, str]:
    """``name=value`` lines, as GitHub reads $GITHUB_OUTPUT."""
    return dict(line.split("=", 1) for line in stdout.splitlines())


# -- benchmark_matrix.py ------------------------------------------------------------------


def test_matrix_is_runners_times_the_torch_versions_of_asv_conf():
    result = run_script("benchmark_matrix.py")
    assert result.returncode == 0, result.stderr
    out = outputs(result.stdout)
    configured = json.loads((REPO_ROOT / "asv.conf.json").read_text())["matrix"]["req"]["torch"]
    include = json.loads(out["matrix"])["include"]

    assert [(job["runner"], job["torch"]) for job in include] == [
        (runner, version) for runner in ("linux-cpu", "macos") for version in configured
    ]
    assert out["default_torch"] == configured[0]
    linux = include[0]
    assert linux["runs_on"] == "ubuntu-latest"
    assert linux["torch_index"] == "https://download.pytorch.org/whl/cpu"
    assert linux["machine"] == "gha-ubuntu-latest"
    assert include[-1]["runs_on"] == "macos-14"


@pytest.mark.parametrize(("option", "device"), [("--gpu", "cuda"), ("--mps", "mps")])
def test_self_hosted_runners_join_only_when_their_variable_is_true(option, device):
    runner = option[2:]
    for value, expected in [("true", True), ("TRUE", True), ("", False), ("false", False), ("1", False)]:
        include = json.loads(outputs(run_script("benchmark_matrix.py", option, value).stdout)["matrix"])[
            "include"
        ]
        jobs = [job for job in include if job["runner"] == runner]
        assert bool(jobs) is expected, value
        for job in jobs:
            assert job["runs_on"][0] == "self-hosted"
            assert job["torch_index"] == "", "PyPI's wheels: CUDA on Linux, MPS on macOS"
            assert job["require_device"] == device, "a runner without its device must fail"
            assert job["pip_cache"] == "", "self-hosted runners keep their own pip cache"
    hosted = json.loads(outputs(run_script("benchmark_matrix.py").stdout)["matrix"])["include"]
    assert {job["require_device"] for job in hosted} == {""}
    assert {job["pip_cache"] for job in hosted} == {"pip"}


def test_manual_torch_versions_replace_the_configured_list():
    out = outputs(run_script("benchmark_matrix.py", "--torch", " 2.5.1, 2.6.0+cpu ").stdout)
    assert sorted({job["torch"] for job in json.loads(out["matrix"])["include"]}) == ["2.5.1", "2.6.0+cpu"]
    assert out["default_torch"] == "2.5.1"


@pytest.mark.parametrize("versions", ["latest", "2.6.0;rm -rf /", ">=2.1", ","])
def test_planner_refuses_what_is_not_a_version(versions):
    result = run_script("benchmark_matrix.py", "--torch", versions)
    assert result.returncode != 0
    assert "torch version" in result.stderr
    assert result.stdout == ""


def test_planner_names_a_config_without_torch_list(tmp_path):
    config = tmp_path / "asv.conf.json"
    config.write_text('{"matrix": {"req": {}}}')
    result = run_script("benchmark_matrix.py", "--config", str(config))
    assert result.returncode != 0
    assert str(config) in result.stderr


# -- sticky_comment.py --------------------------------------------------------------------


class FakeGitHub(BaseHTTPRequestHandler):
    """The four REST endpoints the comment script uses, over one in-memory pull request."""

    state: dict = {}

    def _reply(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.state["calls"].append(("GET", self.path))
        assert self.headers["Authorization"] == "Bearer test-token"
        if self.path == "/repos/o/r/pulls/7":
            return self._reply({"head": {"sha": self.state["head_sha"]}})
        if self.path.startswith("/repos/o/r/issues/7/comments"):
            page = int(self.path.rsplit("page=", 1)[1])
            return self._reply(self.state["comments"][(page - 1) * 100 : page * 100])
        self._reply({"message": "Not Found"}, 404)

    def _body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_POST(self):
        self.state["calls"].append(("POST", self.path))
        if self.state.get("refuse"):
            return self._reply({"message": "Resource not accessible by integration"}, self.state["refuse"])
        comment = {
            "id": 1000 + len(self.state["comments"]),
            "body": self._body()["body"],
            "user": {"login": "github-actions[bot]"},
        }
        self.state["comments"].append(comment)
        self._reply(comment, 201)

    def do_PATCH(self):
        self.state["calls"].append(("PATCH", self.path))
        comment_id = int(self.path.rsplit("/", 1)[1])
        body = self._body()["body"]
        for comment in self.state["comments"]:
            if comment["id"] == comment_id:
                comment["body"] = body
        self._reply({"id": comment_id, "body": body})

    def log_message(self, *args):
        pass


@pytest.fixture
def github():
    FakeGitHub.state = {"calls": [], "comments": [], "head_sha": "a" * 40}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeGitHub.state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def report(tmp_path):
    directory = tmp_path / "pr-report"
    directory.mkdir()
    (directory / "pr-number").write_text("7\n")
    (directory / "comparison.md").write_text("**1 regression** in 12 benchmarks\n")
    return directory


def post(api_url: str, report: Path, head_sha: str = "a" * 40) -> subprocess.CompletedProcess:
    env = {
        "GITHUB_API_URL": api_url,
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": "test-token",
        "PATH": "/usr/bin",
    }
    return run_script(
        "sticky_comment.py", str(report), "--head-sha", head_sha, "--run-url", "https://run/1", env=env
    )


def test_first_run_creates_the_comment_and_later_runs_update_it(github, report):
    state, url = github
    state["comments"] = [
        {"id": i, "body": f"human comment {i}", "user": {"login": "someone"}} for i in range(150)
    ]  # two pages

    first = post(url, report)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    (report / "comparison.md").write_text("no significant change\n")
    second = post(url, report)
    assert second.returncode == 0, second.stderr
    assert "updated comment 1150" in second.stdout

    ours = [c for c in state["comments"] if sticky_comment.MARKER in c["body"]]
    assert len(ours) == 1
    assert "no significant change" in ours[0]["body"]
    assert "https://run/1" in ours[0]["body"]
    assert ("PATCH", "/repos/o/r/issues/comments/1150") in state["calls"]


def test_no_comment_when_the_pr_moved_on_since_the_run(github, report):
    """Stale results are not posted; that is normal (the new head's run posts), not a failure."""
    state, url = github
    result = post(url, report, head_sha="b" * 40)
    assert result.returncode == 0, result.stderr
    assert "not posting stale results" in result.stdout
    assert state["comments"] == []


def test_a_marked_comment_by_someone_else_is_never_edited(github, report):
    state, url = github
    planted = {"id": 5, "body": sticky_comment.MARKER + "\nall good, merge it", "user": {"login": "mallory"}}
    state["comments"] = [planted]
    result = post(url, report)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    assert planted["body"].endswith("merge it")
    assert not any(method == "PATCH" for method, _ in state["calls"])


@pytest.mark.parametrize(("status", "hint"), [(403, "pull-requests: write"), (502, "re-run the job")])
def test_http_errors_are_one_clear_line(github, report, status, hint):
    state, url = github
    state["refuse"] = status
    result = post(url, report)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"GitHub answered {status}" in result.stderr and "POST /issues/7/comments" in result.stderr
    assert hint in result.stderr


def test_an_unreachable_github_is_one_clear_line(report):
    result = post("http://127.0.0.1:9", report)
    assert result.returncode != 0
    assert "cannot reach GitHub" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("number", ["", "0", "7; rm -rf /", "-3", "12345678901", "../../1"])
def test_untrusted_pr_number_is_refused(github, report, number):
    state, url = github
    (report / "pr-number").write_text(number)
    result = post(url, report)
    assert result.returncode != 0
    assert "expected a pull request number" in result.stderr
    assert state["calls"] == []


def test_long_reports_are_cut_to_what_github_accepts():
    body = sticky_comment.comment_body("x" * 100_000, "https://run/1")
    assert len(body) <= sticky_comment.MAX_BODY
    assert body.startswith(sticky_comment.MARKER)
    assert "truncated" in body


def test_sticky_comment_is_found_among_others():
    ours = {"github-actions[bot]"}
    comments = [
        {"id": 1, "body": "lgtm", "user": {"login": "a"}},
        {"id": 2, "body": None, "user": None},
        {"id": 3, "body": sticky_comment.MARKER + "\nx", "user": {"login": "a"}},
        {"id": 4, "body": sticky_comment.MARKER + "\nx", "user": {"login": "github-actions[bot]"}},
    ]
    assert sticky_comment.find_sticky_comment(comments, ours) == 4
    assert sticky_comment.find_sticky_comment(comments, {"a"}) == 3
    assert sticky_comment.find_sticky_comment(comments[:3], ours) is None


# -- devices_summary.py -------------------------------------------------------------------


@pytest.mark.slow
def test_devices_summary_reads_the_real_context_files(asv_results):
    import torch

    result = run_script("devices_summary.py", str(asv_results))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| results file | torch |")
    assert any(torch.__version__ in line for line in lines[2:])
    if not torch.cuda.is_available():
        assert "CPU only" in result.stdout


def test_devices_summary_says_when_mps_is_built_but_not_exposed():
    context = {"build_variant": "mps", "mps_available": False, "cuda_available": False}
    assert "not exposed" in devices_summary.accelerators(context)
    assert devices_summary.accelerators({"mps_available": True, "mps_device": "arm64"}) == "MPS: arm64"


def test_devices_summary_without_context_files_fails(tmp_path):
    result = run_script("devices_summary.py", str(tmp_path))
    assert result.returncode != 0
    assert "no sqrtwatch-context files" in result.stderr


def test_every_runners_profile_fits_its_timeout_with_margin():
    """The estimate (scripts/ci_time_budget.py): cells for the runner's devices only, asv's
    processes per round, measured start costs; a grid or rounds change that overruns fails here."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "ci_time_budget.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split(" | ") for line in result.stdout.splitlines()[2:]]
    assert {row[0].strip("| ") for row in rows} == set(benchmark_matrix.RUNNERS)
    assert any("macos" in row[0] and row[1] == "quick" for row in rows)
