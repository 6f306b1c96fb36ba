"""Property test: any values (negative, zero, infinite, huge, NaN, failed) flow through
ingest -> detect -> alerts -> compare -> dashboard frames and figures without an exception or a hang."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import signal
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sqrtwatch.dashboard import figures, frames
from sqrtwatch.db import queries
from sqrtwatch.db.comparison.compare import compare_selections
from sqrtwatch.db.detection.alerts import list_alerts
from sqrtwatch.db.detection.detect import detect_alerts
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect, connect_read_only
from sqrtwatch.render import format_alerts, format_comparison
from tests.asv_history import BenchmarkSpec, commit_hash, write_history

# Seconds one example may take (a few on a loaded 2-core machine): past it, it hangs.
EXAMPLE_TIMEOUT_S = 120
SPECS = [
    BenchmarkSpec("bench_throughput.Fuzz.time_sqrt"),
    BenchmarkSpec("bench_throughput.Fuzz.track_gbps", unit="GB/s"),
    BenchmarkSpec("bench_accuracy.Fuzz.track_max_ulp", unit="ulp"),
]
hostile = st.sampled_from(
    [-1e-4, -1.0, 0.0, 5e-324, 1e-4, 2e-4, 1.7e308, math.inf, -math.inf, math.nan, None]
)
values = hostile | st.floats(allow_nan=True, allow_infinity=True)
histories = st.integers(min_value=3, max_value=10).flatmap(
    lambda n: st.lists(st.lists(values, min_size=n, max_size=n), min_size=len(SPECS), max_size=len(SPECS))
)


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging) when the body runs longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"example still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _refuse(constant: str):
    raise AssertionError(f"bare {constant} in JSON output")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_hostile_values_flow_through_the_whole_pipeline(history):
    with tempfile.TemporaryDirectory() as tmp, time_limit(EXAMPLE_TIMEOUT_S):
        results = Path(tmp) / "results"
        write_history(
            results, SPECS, {spec.name: [[v] for v in series] for spec, series in zip(SPECS, history)}
        )
        url = f"sqlite:///{Path(tmp) / 'db.sqlite'}"
        engine = connect(url)
        report = ingest_results_dir(engine, results)
        assert not report.errors, report.errors
        detect_alerts(engine, thresholds={}, workers=1)
        engine.dispose()

        reader = connect_read_only(url)
        alerts = list_alerts(reader, "all")
        for fmt in ("json", "markdown", "text"):
            shown = format_alerts(alerts, fmt)
        json.loads(format_alerts(alerts, "json"), parse_constant=_refuse)
        comparison = compare_selections(reader, commit_hash(0)[:8], commit_hash(len(history[0]) - 1)[:8])
        for fmt in ("json", "markdown", "text"):
            shown = format_comparison(comparison, fmt)
        json.loads(format_comparison(comparison, "json"), parse_constant=_refuse)
        assert shown

        with Session(reader) as session:
            alert_frame = queries.alerts(session, "all")
            for spec in SPECS:
                points = queries.series(session, spec.name, "{}")
                for column in ("commit_date", "run_time"):  # as dashboard/data.py hands them to pages
                    points[column] = pd.to_datetime(points[column], unit="ms", utc=True)
                for band, x in itertools.product(("ci", "iqr"), frames.X_AXES):
                    trend = frames.trend_series(points, x=x, band=band)
                    markers = frames.alert_markers(alert_frame, trend, x)
                    figures.make_trend_figure(trend, x=x, markers=markers).to_json()
        frames.alerts_table(alert_frame)
        rows = frames.comparison_table(pd.DataFrame([vars(row) for row in comparison.rows]), marks=[])
        figures.make_ratio_figure(frames.ratio_bars(rows, 40)).to_json()
        reader.dispose()
