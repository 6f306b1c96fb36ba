"""Detection over a real ingested history: expected alerts, stable ids, triage, resolution."""

from __future__ import annotations

import pytest

from sqrtwatch.db.detection.alerts import AlertError, list_alerts, set_alert_status
from sqrtwatch.db.detection.detect import detect_alerts
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import commit_hash
from tests.detect_history import (
    COMMITS,
    EXPECTED_REGRESSIONS,
    RUN_WIDE_COMMIT,
    alert_keys,
    build_database,
    copy_database,
    count_alerts,
    write_test_history,
)


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    return build_database(tmp_path_factory.mktemp("history"))


@pytest.fixture
def engine(history_db, tmp_path):
    engine = connect(copy_database(history_db, tmp_path))
    yield engine
    engine.dispose()


def test_detect_reports_exactly_the_real_changes(engine):
    summary = detect_alerts(engine, thresholds={})
    alerts = list_alerts(engine, "all")
    # Not flagged: the run-wide shift, the single slow run, failed/skipped points,
    # the benchmark version change; the rate drop is a regression, not an improvement.
    assert alert_keys(alerts) == EXPECTED_REGRESSIONS
    assert alert_keys(alerts, "improvement") == set()
    assert f"at {commit_hash(RUN_WIDE_COMMIT)[:8]}: x1.4" in summary.summary()
    assert summary.new == len(EXPECTED_REGRESSIONS)


def test_alert_values_and_ratio(engine):
    detect_alerts(engine, thresholds={})
    step = next(a for a in list_alerts(engine) if a["benchmark"].endswith("Step.time_sqrt"))
    assert step["commit_before"] == commit_hash(11)
    assert step["value_before"] == pytest.approx(1e-4, rel=0.02)
    assert step["ratio"] == pytest.approx(1.5, rel=0.03)
    assert step["status"] == "active" and step["resolved"] is False


def test_rerun_keeps_ids_and_triage(engine):
    detect_alerts(engine, thresholds={})
    before = {a["id"]: a for a in list_alerts(engine, "all")}
    step_id = next(i for i, a in before.items() if a["benchmark"].endswith("Step.time_sqrt"))
    set_alert_status(engine, step_id, "acknowledged", by="alice", note="known: bigger tensors")
    summary = detect_alerts(engine, thresholds={})
    after = {a["id"]: a for a in list_alerts(engine, "all")}
    assert summary.new == 0 and set(after) == set(before)
    assert after[step_id]["status"] == "acknowledged"
    assert (after[step_id]["triaged_by"], after[step_id]["triage_note"]) == ("alice", "known: bigger tensors")
    assert step_id not in {a["id"] for a in list_alerts(engine, "active")}
    assert count_alerts(str(engine.url)) == len(EXPECTED_REGRESSIONS)


def test_alerts_resolve_when_the_series_returns(engine, tmp_path):
    detect_alerts(engine, thresholds={})
    ids = {a["benchmark"]: a["id"] for a in list_alerts(engine, "all")}
    # Six more commits: the newest-commit spike was one run, and the step is reverted.
    more = tmp_path / "more"
    write_test_history(more, commits=range(COMMITS, COMMITS + 6), run_wide={})
    assert not ingest_results_dir(engine, more).errors
    summary = detect_alerts(engine, thresholds={})
    records = {a["benchmark"]: a for a in list_alerts(engine, "all")}
    assert records["bench_throughput.Newest.time_sqrt"]["resolved"] is True
    assert records["bench_throughput.Step.time_sqrt"]["resolved"] is False  # still 1.5x: level() keeps it
    assert {b: r["id"] for b, r in records.items()} == ids
    assert summary.resolved == 1
    active = {a["benchmark"] for a in list_alerts(engine, "active")}
    assert "bench_throughput.Newest.time_sqrt" not in active


def test_triage_rejects_bad_input(engine):
    detect_alerts(engine, thresholds={})
    with pytest.raises(AlertError, match="no alert with id 9999"):
        set_alert_status(engine, 9999, "dismissed", by="bob")
    alert_id = list_alerts(engine)[0]["id"]
    with pytest.raises(AlertError, match="cannot set alert status 'gone'"):
        set_alert_status(engine, alert_id, "gone", by="bob")
    with pytest.raises(AlertError, match="who decides"):
        set_alert_status(engine, alert_id, "dismissed", by=" ")


def test_threshold_per_benchmark_pattern(engine):
    detect_alerts(engine, thresholds={r"Step\.time_sqrt": 0.8})
    assert "bench_throughput.Step.time_sqrt" not in {a["benchmark"] for a in list_alerts(engine, "all")}


def test_torch_upgrade_moving_everything_is_alerted(tmp_path):
    """Every benchmark slower from the run that changed torch: real regressions, not a slow runner."""
    from tests.asv_history import BenchmarkSpec, write_history

    specs = [BenchmarkSpec(f"bench_throughput.T{i}.time_sqrt") for i in range(5)]
    values = {
        s.name: [[1e-4 * (1 + i) * (1.3 if k >= 10 else 1.0) * (1 + 0.002 * (k % 3))] for k in range(14)]
        for i, s in enumerate(specs)
    }
    write_history(tmp_path / "results", specs, values, torch_versions=["2.12.0"] * 10 + ["2.13.0"] * 4)
    engine = connect(f"sqlite:///{tmp_path / 'torch.db'}")
    ingest_results_dir(engine, tmp_path / "results")
    summary = detect_alerts(engine, thresholds={})
    assert summary.run_wide_shifts == []
    assert {a["commit_after"] for a in list_alerts(engine)} == {commit_hash(10)}
    assert len(list_alerts(engine)) == 5
    engine.dispose()


def test_same_commit_run_twice_is_one_point(tmp_path):
    """asv overwrites the results file of a commit run again: no history, no alert (the A/A case)."""
    from tests.asv_history import BenchmarkSpec, write_history

    specs = [BenchmarkSpec(f"bench_throughput.A{i}.time_sqrt") for i in range(4)]
    engine = connect(f"sqlite:///{tmp_path / 'aa.db'}")
    for factor in (1.0, 1.3):
        write_history(tmp_path / "results", specs, {s.name: [[1e-4 * factor]] for s in specs})
        assert not ingest_results_dir(engine, tmp_path / "results").errors
    summary = detect_alerts(engine, thresholds={})
    assert (summary.series, summary.points, summary.new) == (4, 4, 0)
    engine.dispose()


def test_rerun_analyses_only_changed_environments_and_agrees_with_a_full_pass(engine, tmp_path):
    from tests.asv_history import BenchmarkSpec, write_history

    def state() -> list[tuple]:
        fields = ("id", "commit_before", "commit_after", "value_before", "value_after", "kind", "resolved")
        return sorted(tuple(a[f] for f in fields) for a in list_alerts(engine, "all"))

    detect_alerts(engine, thresholds={})
    again = detect_alerts(engine, thresholds={})
    assert (again.unchanged, again.series, again.new, again.updated) == (1, 0, 0, 0)
    assert "1 unchanged environments skipped" in again.summary()
    # A second machine: only its environment is analysed.
    spec = BenchmarkSpec("bench_throughput.Other.time_sqrt")
    write_history(tmp_path / "other", [spec], {spec.name: [[1e-4]] * 6}, machine="otherbox")
    assert not ingest_results_dir(engine, tmp_path / "other").errors
    other = detect_alerts(engine, thresholds={})
    assert (other.unchanged, other.series, other.points) == (1, 1, 6)
    # More history on the first machine: it is analysed again, the other one is not.
    write_test_history(tmp_path / "more", commits=range(COMMITS, COMMITS + 6), run_wide={})
    assert not ingest_results_dir(engine, tmp_path / "more").errors
    incremental = detect_alerts(engine, thresholds={})
    assert incremental.unchanged == 1 and incremental.resolved == 1  # the newest-commit spike
    before = state()
    full = detect_alerts(engine, thresholds={}, full=True)
    assert (full.unchanged, full.new, full.resolved, full.reopened) == (0, 0, 0, 0)
    assert state() == before
    # Other settings: every environment again.
    assert detect_alerts(engine, thresholds={r"Step\.time_sqrt": 0.8}).unchanged == 0


def test_worker_processes_find_the_same_alerts(history_db, tmp_path):
    """The per-series search in worker processes (large environments) gives the in-process answer."""

    def alerts_with(workers: int, directory) -> list[tuple]:
        directory.mkdir()
        engine = connect(copy_database(history_db, directory))
        detect_alerts(engine, thresholds={}, workers=workers)
        fields = (
            "benchmark",
            "params",
            "commit_before",
            "commit_after",
            "value_before",
            "value_after",
            "kind",
        )
        found = sorted(tuple(str(a[f]) for f in fields) for a in list_alerts(engine, "all"))
        engine.dispose()
        return found

    assert alerts_with(2, tmp_path / "pool") == alerts_with(1, tmp_path / "inline")
