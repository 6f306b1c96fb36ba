"""A short run of scripts/simulate_nights.py: real nightly runs through the workflow's commands."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, run_sqrtwatch

pytestmark = pytest.mark.slow

THREADS_FROM = 6
# One cell of the quick profile that runs on every core (1e5 elements > torch's grain size).
CELL = r"bench_throughput\.SqrtDomain\.time_sqrt\('cpu', 'float32', 100000, 'positive'\)"


def simulate(workdir, nights: int, threads_from: int, flush_from: int, bench: str) -> tuple[list, dict]:
    """scripts/simulate_nights.py in this Python's environment (no upgrade); its nights and alerts by id."""
    command = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "simulate_nights.py"),
        str(workdir),
        f"--nights={nights}",
        f"--threads-from={threads_from}",
        f"--flush-from={flush_from}",
        "--upgrade-from=0",
        f"--bench={bench}",
        f"--python={sys.executable}",
    ]
    completed = subprocess.run(command, cwd=REPO_ROOT, text=True, capture_output=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    log = json.loads((workdir / "nights.json").read_text())
    return log, {alert["id"]: alert for alert in json.loads((workdir / "alerts.json").read_text())}


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    """Eight nights, threads halved from night 6 on."""
    workdir = tmp_path_factory.mktemp("nights")
    nights, alerts = simulate(workdir, 8, THREADS_FROM, 0, CELL)
    exported = run_sqrtwatch("export", "--db", f"sqlite:///{workdir / 'sqrtwatch.db'}").stdout
    rows = sorted(map(json.loads, exported.splitlines()), key=lambda row: row["started_at"])
    values = [row["value"] for row in rows if row["status"] == "ok"]  # the one cell measured, per night
    return nights, alerts, values


def test_quiet_nights_raise_no_alert(simulation):
    nights, _, values = simulation
    quiet = values[: THREADS_FROM - 1]
    if max(quiet) / min(quiet) > 1.5:  # a busy box stalls 1-2 ms at random (docs/nightly.md)
        pytest.skip(f"the cell jumped between quiet nights ({quiet}): this machine is too busy to time it")
    assert [night["new_alerts"] for night in nights if night["night"] < THREADS_FROM] == [[]] * (
        THREADS_FROM - 1
    )


def test_halved_threads_raise_an_alert_caused_by_the_thread_count(simulation):
    nights, alerts, values = simulation
    new = [alerts[i] for night in nights if night["night"] >= THREADS_FROM for i in night["new_alerts"]]
    # Whether one thread is slower depends on the second core being free: on the shared
    # 2-core dev box one thread was 1.5x slower on a quiet moment, no slower at load 2-3, and
    # under more load both counts flipped between ~70 us and 1-2 ms stalls (docs/nightly.md).
    before, after = values[: THREADS_FROM - 1], values[THREADS_FROM - 1 :]
    if max(before) / min(before) > 1.5 or max(after) / min(after) > 1.5:
        pytest.skip(f"the cell jumped between nights ({values}): this machine is too busy to time it")
    change = statistics.median(after) / statistics.median(before)
    if 1 / 1.2 < change < 1.2:
        assert new == [], f"nothing moved (x{change:.2f}), yet: {new}"
        return
    (alert,) = new
    assert alert["kind"] == ("regression" if change > 1 else "improvement")
    threads = [pair for field, pair in alert["cause"].items() if "thread" in field]
    assert threads and threads[0][0] != threads[0][1], alert["cause"]


FLUSH_FROM = 2
# Accuracy counts that a subnormal flush changes (docs/nightly.md); deterministic, unlike timings.
ACCURACY_CELLS = (
    r"bench_accuracy\.Accuracy\.track_mismatches\('cpu', '(bfloat16|float32)', '(torch\.sqrt|numpy)'\)"
)


@pytest.fixture(scope="module")
def flush_simulation(tmp_path_factory):
    """Three nights, subnormals flushed in the benchmark processes from night 2."""
    return simulate(tmp_path_factory.mktemp("flush"), 3, 0, FLUSH_FROM, ACCURACY_CELLS)


def test_a_subnormal_flush_loaded_into_the_process_is_alerted_with_its_cause(flush_simulation):
    nights, alerts = flush_simulation
    assert [night["new_alerts"] for night in nights if night["night"] != FLUSH_FROM] == [[], []]
    (flushed,) = [night for night in nights if night["night"] == FLUSH_FROM]
    new = [alerts[i] for i in flushed["new_alerts"]]
    cells = {(a["params"]["dtype"], a["params"]["impl"]): (a["value_before"], a["value_after"]) for a in new}
    # torch's bfloat16 sqrt goes through float32, NumPy's float32 sqrt takes subnormal inputs:
    # both stop being correctly rounded there; torch's own float32 kernel does not change.
    assert set(cells) == {("'bfloat16'", "'torch.sqrt'"), ("'float32'", "'numpy'")}
    assert all(before == 0 and after > 0 for before, after in cells.values()), cells
    for alert in new:
        assert alert["kind"] == "regression" and not alert["resolved"]
        assert alert["cause"]["subnormals_flushed.torch"] == [False, True], alert["cause"]
