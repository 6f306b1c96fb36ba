"""Alerts carry their cause (the context fields that changed); torch upgrades are compared by version."""

from __future__ import annotations

import datetime as dt
import html
import json
import random

import pytest

from sqrtwatch.db.detection.alerts import list_alerts
from sqrtwatch.db.detection.causes import cause, context_fields, describe
from sqrtwatch.db.detection.detect import detect_alerts
from sqrtwatch.db.detection.upgrades import LEVEL_RUNS
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.queries import upgrades
from sqrtwatch.db.schema.engine import connect, session_scope
from sqrtwatch.render import format_alerts
from tests.asv_history import START, BenchmarkSpec, commit_hash, write_run
from tests.conftest import run_sqrtwatch

COMPLEX = BenchmarkSpec("bench_throughput.Sqrt.time_sqrt", [["'complex64'", "'float32'"]], ["dtype"])
MISMATCHES = BenchmarkSpec(
    "bench_accuracy.Exhaustive.track_mismatches", [["'float32'"]], ["dtype"], unit="count"
)
CONTEXT = {
    "python": "3.11.7",
    "torch_version": "2.13.0+cpu",
    "cpu_model": "AMD EPYC",
    "cpu_count": 2,
    "threads": 2,
    "subnormals_flushed": {"torch": False, "numpy": False},
    "env": {},
}
NIGHTS = 14
LATER = "virtualenv-py3.11-torch2.14.1"


def night(k: int) -> dt.datetime:
    return START + dt.timedelta(days=k, hours=2)


def wobble(k: int) -> float:
    """Night k's run-to-run noise: 0.3 %, seeded."""
    return 1 + random.Random(k).gauss(0, 0.003)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"threads": 1}, {"threads": [2, 1]}),
        (
            {"subnormals_flushed": {"torch": True, "numpy": True}},
            {
                "subnormals_flushed.numpy": [False, True],
                "subnormals_flushed.torch": [False, True],
            },
        ),
        ({"env": {"OMP_NUM_THREADS": "1"}}, {"env.OMP_NUM_THREADS": [None, "1"]}),
    ],
)
def test_a_change_between_nights_is_alerted_with_its_cause(tmp_path, change, expected):
    results = tmp_path / "results"
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for k in range(NIGHTS):
        # One night at a time, as the nightly workflow ingests: history survives the overwrite.
        nightly_one(results, k, changed_from=8, change=change, slower=1.8)
        ingest_results_dir(engine, results)
    detect_alerts(engine, thresholds={})
    (alert,) = list_alerts(engine)
    assert (alert["kind"], alert["params"], alert["cause"]) == (
        "regression",
        {"dtype": "'complex64'"},
        expected,
    )
    assert alert["commit_before"] == alert["commit_after"] == commit_hash(0)
    assert "none recorded" not in format_alerts([alert], "text")
    engine.dispose()


def nightly_one(results, k: int, changed_from: int, change: dict, slower: float) -> None:
    after = k >= changed_from
    noise = wobble(k)
    values = {COMPLEX.name: [1e-3 * noise * (slower if after else 1), 1e-4 * noise]}
    write_run(results, [COMPLEX], values, night(k), context=CONTEXT | (change if after else {}))


def test_repeated_nights_with_nothing_changed_give_no_alert(tmp_path):
    results = tmp_path / "results"
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for k in range(NIGHTS):
        nightly_one(results, k, changed_from=NIGHTS, change={}, slower=1.0)
        ingest_results_dir(engine, results)
    summary = detect_alerts(engine, thresholds={})
    assert (summary.points, list_alerts(engine, "all")) == (2 * NIGHTS, [])
    engine.dispose()


def test_a_code_change_has_the_commit_as_its_cause_in_every_format(tmp_path):
    results = tmp_path / "results"
    for k in range(NIGHTS):
        after = k >= 8
        values = {COMPLEX.name: [1e-3 * (1.8 if after else 1) * wobble(k), 1e-4]}
        write_run(results, [COMPLEX], values, night(k), commit=commit_hash(k), context=CONTEXT)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = connect(url)
    ingest_results_dir(engine, results)
    detect_alerts(engine, thresholds={})
    engine.dispose()
    (alert,) = json.loads(run_sqrtwatch("alerts", "--db", url, "--format", "json").stdout)
    assert alert["cause"] == {"commit": [commit_hash(7), commit_hash(8)]}
    markdown = run_sqrtwatch("alerts", "--db", url, "--format", "markdown").stdout
    shown = html.unescape(markdown)  # the markdown is HTML-escaped (sqrtwatch/render.py)
    assert "| cause |" in shown and f"commit {commit_hash(7)[:8]} -> {commit_hash(8)[:8]}" in shown
    compare = run_sqrtwatch(
        "compare", f"commit:{commit_hash(7)}", f"commit:{commit_hash(8)}", "--db", url
    ).stdout
    assert f"Context changed (2 cells): commit {commit_hash(7)[:8]} -> {commit_hash(8)[:8]}" in compare


def _matrix(results, slower: float, mismatches_after: float) -> None:
    """Two torch versions side by side, as ``sqrtwatch run --torch 2.13.0 2.14.1`` writes them."""
    for k in range(3):
        for version, factor, mismatches in (("2.13.0", 1.0, 0.0), ("2.14.1", slower, mismatches_after)):
            values = {
                COMPLEX.name: [1e-3 * factor * wobble(k), 1e-4],
                MISMATCHES.name: [mismatches],
            }
            write_run(
                results,
                [COMPLEX, MISMATCHES],
                values,
                night(k) + dt.timedelta(minutes=30 if version == "2.14.1" else 0),
                commit=commit_hash(k),
                env_name=f"virtualenv-py3.11-torch{version}",
                context=CONTEXT | {"torch_version": version},
            )


def test_a_slower_and_less_accurate_torch_in_a_matrix_is_an_upgrade_regression(tmp_path):
    results = tmp_path / "results"
    _matrix(results, slower=1.5, mismatches_after=3.0)
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ingest_results_dir(engine, results)
    detect_alerts(engine, thresholds={})
    alerts = list_alerts(engine)
    found = {(a["benchmark"], json.dumps(a["params"])): a for a in alerts}
    assert set(found) == {
        (COMPLEX.name, '{"dtype": "\'complex64\'"}'),
        (MISMATCHES.name, '{"dtype": "\'float32\'"}'),
    }
    for alert in alerts:
        assert (alert["source"], alert["kind"], alert["env_name"]) == (
            "upgrade",
            "regression",
            "virtualenv-py3.11-torch2.14.1",
        )
        assert alert["cause"]["torch_version"] == ["2.13.0", "2.14.1"]
    assert found[(MISMATCHES.name, '{"dtype": "\'float32\'"}')]["value_after"] == 3.0
    with session_scope(engine, write=False) as session:
        view = upgrades(session)
    cell = view[view["params"] == '{"dtype":"\'complex64\'"}']
    assert list(cell["torch_version"]) == ["2.13.0", "2.14.1"]
    # Detection again over the same history keeps the alerts and their ids.
    detect_alerts(engine, thresholds={})
    assert {a["id"] for a in list_alerts(engine)} == {a["id"] for a in alerts}
    # A version's level is the median of its newest runs: one fast 2.14.1 night does not
    # move it (nightly noise), LEVEL_RUNS do; then that alert is resolved, the accuracy one stays.
    values = {COMPLEX.name: [1e-3, 1e-4], MISMATCHES.name: [3.0]}
    context = CONTEXT | {"torch_version": "2.14.1"}
    active = []
    for k in range(5, 5 + LEVEL_RUNS):
        write_run(
            results, [COMPLEX, MISMATCHES], values, night(k), commit_hash(k), env_name=LATER, context=context
        )
        ingest_results_dir(engine, results)
        detect_alerts(engine, thresholds={})
        active.append(sorted(a["benchmark"] for a in list_alerts(engine) if a["source"] == "upgrade"))
    assert active[0] == sorted([COMPLEX.name, MISMATCHES.name])
    assert active[-1] == [MISMATCHES.name]
    engine.dispose()


def test_versions_within_noise_give_no_upgrade_alert(tmp_path):
    results = tmp_path / "results"
    _matrix(results, slower=1.01, mismatches_after=0.0)
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ingest_results_dir(engine, results)
    detect_alerts(engine, thresholds={})
    assert list_alerts(engine, "all") == []
    engine.dispose()


def test_cause_compares_only_groups_both_runs_recorded():
    old = context_fields({"torch_version": "2.13.0", "env": {}}, "a" * 40)
    new = context_fields(
        {"torch_version": "2.14.1", "threads": 4, "env": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}}, "a" * 40
    )
    assert cause(old, new) == {
        "torch_version": ["2.13.0", "2.14.1"],
        "env.MKL_ENABLE_INSTRUCTIONS": [None, "AVX2"],
    }
    assert describe({}) == "none recorded"
    assert describe({"cpu_model": ["A", "B"]}) == "cpu_model A -> B; hardware changed: not a code regression"


# The positive float32 cell (µs) of a simulated fortnight on the dev box (docs/nightly.md):
# torch 2.13.0 for 11 nights, then 2.14.1 upgraded in place, which moved nothing measurable.
NIGHTLY_US = {
    "2.13.0": [51.2, 50.7, 49.4, 54.1, 49.9, 56.5, 53.4, 51.5, 51.6, 50.4, 50.3],
    "2.14.1": [48.7, 54.6, 51.5, 55.4],
}


def test_an_upgrade_in_place_within_nightly_noise_gives_no_alert(tmp_path):
    """One run of each version against each other alerted here (x1.10, the last nights' wobble)."""
    results = tmp_path / "results"
    spec = BenchmarkSpec("bench_throughput.SqrtDomain.time_sqrt", [["'positive'"]], ["domain"])
    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    k = 0
    for version, nights in NIGHTLY_US.items():
        for microseconds in nights:
            context = CONTEXT | {"torch_version": version}
            write_run(
                results, [spec], {spec.name: [microseconds * 1e-6]}, night(k), commit_hash(0), context=context
            )
            ingest_results_dir(engine, results)
            detect_alerts(engine, thresholds={})
            k += 1
    assert list_alerts(engine, "all") == []
    with session_scope(engine, write=False) as session:
        view = upgrades(session)
    assert [len(values) for values in view["run_values"]] == [LEVEL_RUNS, len(NIGHTLY_US["2.14.1"])]
    engine.dispose()
