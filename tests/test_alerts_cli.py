"""``sqrtwatch detect`` and ``sqrtwatch alerts`` through click on an ingested history."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.db.detection.alerts import CONTRACT_FIELDS, set_alert_status
from sqrtwatch.db.schema.engine import connect
from tests.detect_history import EXPECTED_REGRESSIONS, alert_keys, build_database, copy_database


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    return build_database(tmp_path_factory.mktemp("history"))


@pytest.fixture
def url(history_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no asv.conf.json here: default thresholds
    url = copy_database(history_db, tmp_path)
    result = CliRunner().invoke(main, ["detect", "--db", url])
    assert result.exit_code == 0, result.output
    assert f"{len(EXPECTED_REGRESSIONS)} new alerts" in result.output
    return url


def alerts(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["alerts", "--db", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_alerts_json_follows_the_contract(url):
    records = json.loads(alerts(url, "--format", "json"))
    assert alert_keys(records) == EXPECTED_REGRESSIONS
    for record in records:
        assert list(record)[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
        if record["value_before"]:
            assert record["ratio"] == pytest.approx(record["value_after"] / record["value_before"])
        else:  # 0 -> 1 ulp: no finite ratio
            assert record["ratio"] is None and record["benchmark"].startswith("bench_accuracy.")
        assert record["status"] == "active"
        assert isinstance(record["params"], dict) and record["machine"] == "testbox"
    # Regressions first, largest change first; a change from 0 (no finite ratio) is the largest.
    assert records[0]["ratio"] is None
    sizes = [abs(math.log(r["ratio"])) for r in records[1:] if r["kind"] == "regression"]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == len(EXPECTED_REGRESSIONS) - 1


def test_alerts_text_and_markdown(url):
    text = alerts(url)
    assert text.splitlines()[0].split()[:3] == ["id", "kind", "ratio"]
    assert "bench_throughput.Step.time_sqrt" in text and "x1.5" in text
    markdown = alerts(url, "--format", "markdown")
    assert markdown.startswith("| id | kind | ratio |")
    assert markdown.count("| regression |") == len(EXPECTED_REGRESSIONS)


def test_alerts_status_filter_follows_triage(url):
    engine = connect(url)
    step = next(r for r in json.loads(alerts(url, "--format", "json")) if "Step" in r["benchmark"])
    set_alert_status(engine, step["id"], "dismissed", by="carol", note="expected: new kernel")
    engine.dispose()
    active = json.loads(alerts(url, "--format", "json"))
    dismissed = json.loads(alerts(url, "--format", "json", "--status", "dismissed"))
    assert step["id"] not in {r["id"] for r in active}
    assert [r["id"] for r in dismissed] == [step["id"]]
    assert dismissed[0]["triaged_by"] == "carol"
    assert len(json.loads(alerts(url, "--format", "json", "--status", "all"))) == len(EXPECTED_REGRESSIONS)
    # Detection again: the decision stays.
    CliRunner().invoke(main, ["detect", "--db", url])
    assert json.loads(alerts(url, "--format", "json", "--status", "dismissed"))[0]["status"] == "dismissed"


def test_no_alerts_is_said_plainly(sqlite_url):
    connect(sqlite_url).dispose()  # alerts only reads: the database must exist
    assert alerts(sqlite_url).strip() == "No alerts."
    assert json.loads(alerts(sqlite_url, "--format", "json")) == []


def test_detect_skips_unchanged_environments_unless_full(url):
    again = CliRunner().invoke(main, ["detect", "--db", url])
    assert again.exit_code == 0, again.output
    assert "0 new alerts" in again.output and "unchanged environments skipped" in again.output
    full = CliRunner().invoke(main, ["detect", "--db", url, "--full"])
    assert full.exit_code == 0, full.output
    assert "0 new alerts" in full.output and "unchanged environments skipped" not in full.output
    assert alert_keys(json.loads(alerts(url, "--format", "json"))) == EXPECTED_REGRESSIONS
