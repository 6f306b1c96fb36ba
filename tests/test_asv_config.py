"""asv.conf.json's regressions_thresholds, read by the CLI and handed to detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sqrtwatch.asv_config import ConfigError, load_thresholds
from sqrtwatch.cli import main


def test_the_projects_own_thresholds_load():
    assert load_thresholds(Path(__file__).resolve().parents[1] / "asv.conf.json") is not None


@pytest.mark.parametrize(
    "thresholds",
    [[0.1], {"(": 0.1}, {"x": "high"}, {"x": -1}, {"x": None}, {"x": True}, "0.05"],
)
def test_invalid_thresholds_are_an_error_naming_the_file(tmp_path, thresholds):
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"regressions_thresholds": thresholds}))
    with pytest.raises(ConfigError, match=r"asv\.conf\.json: regressions_thresholds"):
        load_thresholds(config)


def test_detect_reports_invalid_thresholds_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("asv.conf.json").write_text('{"regressions_thresholds": {"x": "high"}}')
    result = CliRunner().invoke(main, ["detect", "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert result.exit_code == 1
    assert "asv.conf.json: regressions_thresholds: 'x' should map to a relative change" in result.output
    assert not (tmp_path / "db.sqlite").exists()  # checked before the database is touched
