"""Nightly detection reads only the end of a grown history and agrees with a full pass."""

from __future__ import annotations

import numpy as np
import pytest

from sqrtwatch.db.detection.alerts import list_alerts
from sqrtwatch.db.detection.detect import TAIL_RUNS, detect_alerts
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, commit_hash, write_history

DTYPES = ["'float32'", "'float64'"]
SPECS = [
    # float32: x1.5 from night 20, back from night 100; float64: x1.4 from night 95.
    BenchmarkSpec("bench_throughput.Step.time_sqrt", [DTYPES], ["dtype"]),
    # float32: one slow night, the newest for one pass (104).
    BenchmarkSpec("bench_throughput.Spike.time_sqrt", [DTYPES], ["dtype"]),
    # float32: 0 -> 1 ulp from night 97.
    BenchmarkSpec("bench_accuracy.Ulp.track_max_ulp", [DTYPES], ["dtype"], unit="ulp"),
]
NIGHTS = 110
FIRST_INCREMENTAL = 90
SERIES = 6


def level(name: str, dtype: int, night: int) -> float:
    if name.endswith("track_max_ulp"):
        return 1.0 if dtype == 0 and night >= 97 else 0.0
    if "Step" in name and dtype == 0 and 20 <= night < 100:
        return 1.5e-4
    if "Step" in name and dtype == 1 and night >= 95:
        return 1.4e-4
    if "Spike" in name and dtype == 0 and night == 104:
        return 1.7e-4
    return 1e-4


def night_values(night: int, rng: np.random.Generator) -> dict[str, list[list[float | None]]]:
    values: dict[str, list[list[float | None]]] = {}
    for spec in SPECS:
        row: list[float | None] = []
        for d in range(len(DTYPES)):
            value = level(spec.name, d, night)
            row.append(value if spec.unit == "ulp" else value * float(np.exp(rng.normal(0, 0.005))))
        values[spec.name] = [row]
    return values


def alert_state(engine) -> list[tuple]:
    fields = ("id", "benchmark", "params", "commit_after", "kind", "resolved", "value_before", "value_after")
    return sorted(tuple(str(alert[f]) for f in fields) for alert in list_alerts(engine, "all"))


@pytest.fixture
def nightly(tmp_path):
    """A database after 90 nights and a full pass, and a function that adds one night and detects."""
    engine = connect(f"sqlite:///{tmp_path / 'nightly.db'}")
    rng = np.random.default_rng(11)
    for night in range(FIRST_INCREMENTAL):
        write_history(tmp_path / "results", SPECS, night_values(night, rng), first_commit=night)
    assert not ingest_results_dir(engine, tmp_path / "results").errors
    first = detect_alerts(engine, thresholds={})
    assert first.incremental == 0 and first.points == SERIES * FIRST_INCREMENTAL

    def add_night(night: int):
        write_history(tmp_path / "results", SPECS, night_values(night, rng), first_commit=night)
        assert ingest_results_dir(engine, tmp_path / "results").files_loaded == 1
        return detect_alerts(engine, thresholds={})

    yield engine, add_night
    engine.dispose()


def test_nightly_passes_read_the_end_and_agree_with_a_full_pass(nightly):
    engine, add_night = nightly
    for night in range(FIRST_INCREMENTAL, NIGHTS):
        summary = add_night(night)
        assert summary.incremental == 1, summary.summary()
        assert summary.points <= SERIES * (TAIL_RUNS + 1)
        assert "grown environments read from their end" in summary.summary()

    by_cell = {
        (a["benchmark"].split(".")[1], a["params"]["dtype"], a["commit_after"]): a
        for a in list_alerts(engine, "all")
    }
    # The old step is resolved by its return, without an alert of its own for the return.
    assert by_cell["Step", "'float32'", commit_hash(20)]["resolved"]
    assert not [key for key in by_cell if key[:2] == ("Step", "'float32'") and key[2] != commit_hash(20)]
    assert not by_cell["Step", "'float64'", commit_hash(95)]["resolved"]
    assert by_cell["Spike", "'float32'", commit_hash(104)]["resolved"]  # the next night did not confirm it
    assert not by_cell["Ulp", "'float32'", commit_hash(97)]["resolved"]
    assert len(by_cell) == 4

    before = alert_state(engine)
    full = detect_alerts(engine, thresholds={}, full=True)
    assert (full.incremental, full.new, full.resolved, full.reopened) == (0, 0, 0, 0)
    assert alert_state(engine) == before


def test_a_run_older_than_the_history_end_gets_a_full_pass(nightly, tmp_path):
    engine, add_night = nightly
    assert add_night(FIRST_INCREMENTAL).incremental == 1
    # A run from before the newest one (a backfill) changes the order: the whole history is read.
    late = tmp_path / "late"
    write_history(late, SPECS, night_values(5, np.random.default_rng(1)), first_commit=-3)
    assert ingest_results_dir(engine, late).files_loaded == 1
    summary = detect_alerts(engine, thresholds={})
    assert summary.incremental == 0 and summary.points == SERIES * (FIRST_INCREMENTAL + 2)
