"""Hostile files in a results directory: each costs that file only, never a hang, a crash or a silent skip."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sqrtwatch.db.ingest.asv_results import MAX_FILE_BYTES
from sqrtwatch.db.ingest.directory import POOL_MIN_FILES, ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, write_history
from tests.conftest import REPO_ROOT, run_sqrtwatch
from tests.db_helpers import exported

QUIRKS = Path(__file__).parent / "data" / "asv_quirks" / "results"
MACHINE = "host.with.dots"
GOOD_FILES = 2  # results files in the quirks machine directory


@pytest.fixture
def results(tmp_path) -> Path:
    return Path(shutil.copytree(QUIRKS, tmp_path / "results"))


def _ingest(url: str, results: Path, **kwargs) -> subprocess.CompletedProcess:
    return run_sqrtwatch("ingest", str(results), "--db", url, check=False, timeout=120, **kwargs)


def test_deeply_nested_file_is_named_and_skipped_every_time(results, sqlite_url):
    data = json.loads((results / MACHINE / "bbbbbbbb-virtualenv-py3.11.json").read_text())
    deep: list = []
    for _ in range(600):
        deep = [deep]
    data["requirements"] = {"torch": deep}
    data["commit_hash"] = "0" * 40
    bad = results / MACHINE / "00000000-deep.json"  # sorted before the good files
    bad.write_text(json.dumps(data))
    assert json.loads(bad.read_text())  # valid JSON, just deep
    for attempt in range(2):
        done = _ingest(sqlite_url, results)
        assert done.returncode == 1, done.stderr
        assert f"error: {bad}: JSON nested deeper than" in done.stderr
        assert "Traceback" not in done.stderr
        loaded = GOOD_FILES if attempt == 0 else 0
        assert f"from {loaded} results files; {GOOD_FILES - loaded} unchanged files skipped" in done.stdout
    engine = connect(sqlite_url)
    assert len({row["commit_hash"] for row in exported(engine)}) == GOOD_FILES
    engine.dispose()


def test_fifo_and_device_links_are_skipped_not_read(results, sqlite_url):
    fifo = results / MACHINE / "00000000-fifo.json"
    os.mkfifo(fifo)
    zero = results / MACHINE / "00000001-zero.json"
    zero.symlink_to("/dev/zero")
    done = _ingest(sqlite_url, results)  # before the fix: blocked on the FIFO forever
    assert done.returncode == 1
    assert f"error: {fifo}: not a regular file" in done.stderr
    assert f"error: {zero}: not a regular file" in done.stderr
    assert f"from {GOOD_FILES} results files" in done.stdout


def test_a_file_over_the_size_cap_is_skipped_unread(results, sqlite_url):
    huge = results / MACHINE / "00000000-huge.json"
    with huge.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, and never read
    engine = connect(sqlite_url)
    report = ingest_results_dir(engine, results)
    assert [str(error) for error in report.errors] == [
        f"{huge}: larger than 256 MiB ({MAX_FILE_BYTES + 1} bytes); skipped"
    ]
    assert report.files_loaded == GOOD_FILES
    engine.dispose()


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None, reason="root needs setpriv to drop its privileges"
)
def test_unreadable_machine_directory_is_an_error_and_the_rest_loads():
    # As root every directory is readable: run the ingest as an unprivileged user then.
    root = Path(tempfile.mkdtemp(prefix="sqrtwatch-unreadable-"))
    try:
        results = Path(shutil.copytree(QUIRKS, root / "results"))
        hidden = results / "hidden"
        shutil.copytree(results / MACHINE, hidden)
        os.chmod(root, 0o777)
        prefix: list[str] = []
        if os.geteuid() == 0:
            for path in [root, *root.rglob("*")]:
                os.chown(path, 65534, 65534)
            os.chown(hidden, 0, 0)
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        os.chmod(hidden, 0o000)
        url = f"sqlite:///{root / 'db.sqlite'}"
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "sqrtwatch", "ingest", str(results), "--db", url],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"error: {hidden}: cannot read this directory: Permission denied" in done.stderr
        assert f"from {GOOD_FILES} results files" in done.stdout
    finally:
        os.chmod(root / "results" / "hidden", 0o755)
        shutil.rmtree(root)


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_killing_an_ingest_ends_its_parser_workers(tmp_path, sig):
    spec = BenchmarkSpec("bench_throughput.Many.time_sqrt", [[repr(str(i)) for i in range(400)]], ["n"])
    results = tmp_path / "results"
    write_history(results, [spec], {spec.name: [[1e-4] * 400] * (POOL_MIN_FILES * 4)})
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "sqrtwatch", "ingest", str(results), "--db", url],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal to the parent alone, as `kill PID` sends
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2 and process.poll() is None:
            workers = _children(process.pid)
            time.sleep(0.1)
        assert len(workers) >= 2, "the ingest finished before its workers could be seen"
        process.send_signal(sig)
        process.wait(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)
