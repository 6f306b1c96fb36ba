"""Detection over hostile values: a bad series is skipped with a warning, never a hang or a crash."""

from __future__ import annotations

import math

import pytest

from sqrtwatch.db.detection.alerts import list_alerts
from sqrtwatch.db.detection.changepoints import UnusableSeries, find_changes
from sqrtwatch.db.detection.detect import detect_alerts
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, write_history
from tests.conftest import run_sqrtwatch

POINTS = 12
GOOD = BenchmarkSpec("bench_throughput.Good.time_sqrt")
GOOD_VALUES = [[1e-4]] * 6 + [[2e-4]] * 6  # a clear x2 regression at the 7th commit
BAD_CASES = {
    "negative": [[1e-4]] * 6 + [[-1e-4]] + [[1e-4]] * 5,
    "infinities": [[1e-4]] * 4 + [[math.inf]] * 4 + [[1e-4]] * 4,
    "huge": [[1e-4]] * 6 + [[1.7e308]] + [[1e-4]] * 5,
}


@pytest.mark.parametrize("values", [[1.0, -1.0, 1.0], [1.0, math.inf, math.inf, 1.0], [1.0, 0.0, 1.0]])
def test_find_changes_refuses_values_without_a_logarithm(values):
    with pytest.raises(UnusableSeries, match="not a finite positive number"):
        find_changes(values)


def test_find_changes_survives_a_huge_value():
    changes = find_changes([1e-4] * 8 + [1.7e308] * 8)
    assert [change.after for change in changes] == [8]


@pytest.mark.parametrize(
    ("case", "unit"), [*((case, "seconds") for case in sorted(BAD_CASES)), ("negative", "GB/s")]
)
def test_a_bad_series_costs_that_series_only(tmp_path, case, unit):
    bad = BenchmarkSpec(
        "bench_throughput.Bad." + ("time_sqrt" if unit == "seconds" else "track_gbps"), unit=unit
    )
    results = tmp_path / "results"
    write_history(results, [bad, GOOD], {bad.name: BAD_CASES[case], GOOD.name: GOOD_VALUES})
    # Another environment, all good, must still get its alert.
    write_history(results, [GOOD], {GOOD.name: GOOD_VALUES}, env_name="other-env")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = connect(url)
    assert not ingest_results_dir(engine, results).errors
    detect_alerts(engine, thresholds={})
    # A later pass must not die on the same series either (a real process: a hang times out).
    done = run_sqrtwatch("detect", "--full", "--db", url, timeout=120)
    alerted = {
        (a["benchmark"], a["env_name"]) for a in list_alerts(engine, "all") if a["kind"] == "regression"
    }
    assert {(GOOD.name, "other-env"), (GOOD.name, "existing-py_usr_bin_python")} <= alerted
    if case == "negative":  # infinities are dropped like failed points; a huge time is analysed
        assert (
            f"warning: series skipped: {bad.name} {{}} on testbox / existing-py_usr_bin_python" in done.stdout
        )
    assert "Traceback" not in done.stderr
    engine.dispose()
