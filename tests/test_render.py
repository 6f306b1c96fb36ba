"""Rendering untrusted names: markdown that cannot change a PR comment's layout, strict JSON."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.db.comparison.compare import Comparison, Row
from sqrtwatch.render import (
    alerts_markdown,
    comparison_markdown,
    format_alerts,
    format_comparison,
    markdown_text,
)

HOSTILE = [
    "</details><!-- everything after is hidden",
    '<img src="http://host/p.png">',
    "![](http://host/p.png)",
    "[click](http://host)",
    "line one\nline two\r\n| forged | row |",
    "`code` *bold* ~~gone~~ $x^2$ _em_ &amp;",
    "@org/everyone please look",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_markdown_text_is_one_inert_line(name):
    shown = markdown_text(name)
    assert "\n" not in shown and "\r" not in shown
    assert "<" not in shown and ">" not in shown  # no HTML tag, comment or autolink
    for syntax in "|[]`*~$":
        assert shown.count(syntax) == shown.count("\\" + syntax)  # every one escaped
    assert "@" not in shown or all(part.startswith("&#8203;") for part in shown.split("@")[1:])


def _alert(name: str, ratio: float = 1.5) -> dict:
    return {
        "id": 1,
        "benchmark": name,
        "params": {name: name},
        "machine": name,
        "env_name": name,
        "commit_before": "a" * 40,
        "commit_after": "b" * 40,
        "value_before": 1.0,
        "value_after": ratio,
        "ratio": ratio,
        "kind": "regression",
        "status": "acknowledged",
        "detected_at": "2026-01-01T00:00:00",
        "triaged_by": name,
        "triage_note": name,
    }


def _comparison(name: str, value: float = 2.0) -> Comparison:
    row = Row(
        name, {name: name}, name, name, "seconds", 1.0, value, value, 0.001, "mann-whitney", "regressed"
    )
    return Comparison(name, name, 1.1, rows=[row], base_url="https://dash.example/")


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_keep_the_markdown_layout(name):
    for body in (alerts_markdown([_alert(name)]), comparison_markdown(_comparison(name))):
        lines = body.splitlines()
        table = [line for line in lines if line.startswith("|")]
        # Every table line has exactly the header's cell count (unescaped pipes only between cells).
        cells = {len(line.replace("\\|", "").split("|")) for line in table}
        assert len(cells) == 1
        assert "<!--" not in body and "<img" not in body
    comparison = comparison_markdown(_comparison(name))
    assert comparison.count("</details>") == 1 and comparison.rstrip().endswith("</details>")


def test_json_formats_are_strict():
    for value in (math.inf, -math.inf, math.nan):
        alerts = json.loads(format_alerts([_alert("x", value)], "json"), parse_constant=_refuse)
        assert alerts[0]["ratio"] == str(value).replace("nan", "NaN")
        rows = json.loads(format_comparison(_comparison("x", value), "json"), parse_constant=_refuse)["rows"]
        assert rows[0]["head"] == str(value).replace("nan", "NaN")


def _refuse(constant: str):
    raise AssertionError(f"bare {constant} in JSON output")


def test_alerts_json_from_the_cli_is_strict_with_infinite_ratios(tmp_path):
    import sqlite3

    from sqrtwatch.db.schema.engine import connect

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    connect(url).dispose()
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:
        connection.execute(
            "INSERT INTO alerts (machine, env_name, benchmark, params, kind, commit_before, commit_after,"
            " value_before, value_after, ratio, status, resolved, detected_at)"
            " VALUES ('m', 'e', 'b', '{}', 'regression', NULL, 'c', 1e308, 9e999, 9e999, 'active', 0,"
            " '2026-01-01 00:00:00')"
        )
    connection.close()
    result = CliRunner().invoke(main, ["alerts", "--format", "json", "--db", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output, parse_constant=_refuse)[0]["ratio"] == "inf"
