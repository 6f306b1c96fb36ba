"""Alerts and comparisons as text for people and machines: json, markdown (PR comments) and text.

One function per format, so that a new field or format is one edit. Every name
that reaches markdown comes from stored results, which a pull request may add:
it is escaped so that it shows as plain text and cannot change the layout.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqrtwatch.db.detection.causes import describe

if TYPE_CHECKING:
    from sqrtwatch.db.comparison.compare import Comparison, Row

ALERT_HEADER = [
    "id",
    "kind",
    "ratio",
    "benchmark",
    "params",
    "machine",
    "before",
    "after",
    "commits",
    "cause",
    "status",
]
COMPARISON_HEADER = [
    "mark",
    "ratio",
    "benchmark",
    "params",
    "machine",
    "base",
    "head",
    "p",
    "noise",
    "threshold",
]
# Markdown syntax that works inside a table cell, shown literally once backslash-escaped:
# code, emphasis, links and images ("[", so "![" and "](" are inert too), cell breaks,
# strike-through, math; "_" only where it can open or close emphasis (not inside words).
_MARKDOWN_SYNTAX = re.compile(r"([\\`*\[\]|~$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_LINE_BREAKS = re.compile(r"\s+")


def strict_json(value: Any) -> Any:
    """``value`` with non-finite floats as the strings "NaN", "inf", "-inf", as ``export`` writes them."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    return value


def dumps(value: Any) -> str:
    """Strict JSON (no bare NaN or Infinity), indented."""
    return json.dumps(strict_json(value), indent=2, allow_nan=False)


def markdown_text(text: str) -> str:
    """``text`` as literal markdown inline text: one line, no HTML, no markdown syntax, no table cell break."""
    one_line = _LINE_BREAKS.sub(" ", text).strip()
    escaped = _MARKDOWN_SYNTAX.sub(r"\\\1", html.escape(one_line, quote=False))
    # A zero-width space after "@": a name like "@org/team" must not notify anyone.
    return escaped.replace("@", "@&#8203;")


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table of cells that are already markdown (escaped by the caller)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(row) + " |" for row in rows
    ]


def _text_table(rows: list[list[str]]) -> list[str]:
    cells = [[_LINE_BREAKS.sub(" ", cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pick(formats: dict[str, Callable[..., str]], fmt: str) -> Callable[..., str]:
    if fmt not in formats:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(formats)}")
    return formats[fmt]


# ---------------------------------------------------------------- alerts


def format_alerts(alerts: list[dict[str, Any]], fmt: str) -> str:
    """Alerts (records of :func:`sqrtwatch.db.detection.alerts.list_alerts`) as json, markdown or text."""
    return _pick({"json": alerts_json, "markdown": alerts_markdown, "text": alerts_text}, fmt)(alerts)


def alerts_json(alerts: list[dict[str, Any]]) -> str:
    """The ``alerts --format json`` contract (DESIGN.md), strict JSON."""
    return dumps(alerts)


def alerts_markdown(alerts: list[dict[str, Any]]) -> str:
    """A markdown table, every cell escaped."""
    if not alerts:
        return "No alerts."
    return "\n".join(
        _markdown_table(ALERT_HEADER, [[markdown_text(c) for c in _alert_cells(a)] for a in alerts])
    )


def alerts_text(alerts: list[dict[str, Any]]) -> str:
    """An aligned plain-text table."""
    if not alerts:
        return "No alerts."
    return "\n".join(_text_table([ALERT_HEADER, *(_alert_cells(alert) for alert in alerts)]))


def _alert_cells(alert: dict[str, Any]) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in alert["params"].items())
    status = alert["status"] + (" (resolved)" if alert.get("resolved") else "")
    if alert.get("triaged_by"):
        status += f" by {alert['triaged_by']}" + (
            f": {alert['triage_note']}" if alert.get("triage_note") else ""
        )
    ratio = f"x{alert['ratio']:.3f}" if alert["ratio"] is not None else "-"
    commits = f"{(alert['commit_before'] or '')[:8]}..{alert['commit_after'][:8]}"
    return [
        str(alert["id"]),
        alert["kind"],
        ratio,
        alert["benchmark"],
        params,
        alert["machine"],
        _number(alert["value_before"]),
        _number(alert["value_after"]),
        commits,
        describe(alert.get("cause")),
        status,
    ]


# ---------------------------------------------------------------- comparisons


def format_comparison(comparison: Comparison, fmt: str) -> str:
    """The comparison as ``markdown`` (a PR comment body), ``json`` or aligned ``text``."""
    return _pick({"markdown": comparison_markdown, "json": comparison_json, "text": comparison_text}, fmt)(
        comparison
    )


def comparison_json(comparison: Comparison) -> str:
    """Base, head, settings, counts per mark and every row; strict JSON."""
    return dumps(
        {
            "base": comparison.base,
            "head": comparison.head,
            "factor": comparison.factor,
            "noise_k": comparison.noise_k,
            "counts": comparison.counts(),
            "rows": [dataclasses.asdict(row) for row in comparison.rows],
        }
    )


def summary_line(comparison: Comparison) -> str:
    """The verdict and the counts per mark, in one line."""
    counts = comparison.counts()
    facts = ", ".join(f"{n} {mark}" for mark, n in counts.items() if n)
    verdict = "Regressions found" if counts["regressed"] else "No significant regression"
    noise = [
        f"{comparison.noise_k:g}x run-to-run noise" if comparison.noise_k else "run-to-run noise ignored"
    ]
    within = sum(comparison.within_noise(row) for row in comparison.rows)
    if within:
        noise.append(f"{within} within noise")
    unknown = comparison.noise_unknown()
    if unknown:
        noise.append(f"noise unknown for {unknown}")
    return (
        f"{verdict}: {comparison.head} vs {comparison.base}, {len(comparison.rows)} benchmarks "
        f"({facts}; factor {comparison.factor:g}, {', '.join(noise)})"
    )


def comparison_markdown(comparison: Comparison) -> str:
    """A pull-request comment: the verdict, the regressions and failures, every row folded."""
    lines = [f"**{markdown_text(summary_line(comparison))}**", ""]
    causes = cause_lines(comparison)
    if causes:
        lines += [*(f"- {markdown_text(line)}" for line in causes), ""]
    attention = [row for row in comparison.rows if row.mark in ("regressed", "failed")]
    if attention:
        lines += ["### Regressions and failures", "", *_comparison_table(comparison, attention), ""]
    lines += [
        "<details>",
        f"<summary>All {len(comparison.rows)} benchmarks</summary>",
        "",
        *_comparison_table(comparison, comparison.rows),
        "",
        "</details>",
    ]
    return "\n".join(lines)


def comparison_text(comparison: Comparison) -> str:
    """The summary line and an aligned table."""
    table = _text_table([COMPARISON_HEADER, *(_row_cells(row) for row in comparison.rows)])
    causes = cause_lines(comparison)
    return "\n".join([summary_line(comparison), "", *table, *(["", *causes] if causes else [])])


def cause_lines(comparison: Comparison) -> list[str]:
    """What differs between the base and head runs, one line per distinct cause, most cells first."""
    counts = collections.Counter(
        json.dumps(row.cause, sort_keys=True) for row in comparison.rows if row.cause
    )
    return [f"Context changed ({n} cells): {describe(json.loads(text))}" for text, n in counts.most_common()]


def _comparison_table(comparison: Comparison, rows: list[Row]) -> list[str]:
    cells = []
    for row in rows:
        escaped = [markdown_text(cell) for cell in _row_cells(row)]
        link = _link(comparison, row)
        if link:
            escaped[2] = f"[{escaped[2]}]({link})"
        cells.append(escaped)
    return _markdown_table(COMPARISON_HEADER, cells)


def _row_cells(row: Row) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in row.params.items())
    ratio = f"{row.ratio:.3f}" if row.ratio is not None and math.isfinite(row.ratio) else "-"
    p = f"{row.p_value:.2g}" if row.p_value is not None else (row.test or "-")
    return [
        row.mark,
        ratio,
        row.benchmark,
        params,
        row.machine,
        _number(row.base),
        _number(row.head),
        p,
        *_noise(row),
    ]


def _noise(row: Row) -> list[str]:
    """Run-to-run noise as a percentage ("?": too little history) and the ratio a change had to reach."""
    if row.threshold is None:
        return ["-", "-"]
    noise = "?" if row.noise is None else f"{math.expm1(row.noise):.1%}"
    return [noise, f"{row.threshold:.3f}"]


def _link(comparison: Comparison, row: Row) -> str | None:
    """Dashboard Trends page of the row's series (``SQRTWATCH_BASE_URL``); every part URL-quoted."""
    if not comparison.base_url:
        return None
    query = [f"bench={quote(row.benchmark, safe='')}", f"machine={quote(row.machine, safe='')}"]
    query += [
        f"p.{quote(name, safe='')}={quote(value.strip(chr(39)), safe='')}"
        for name, value in row.params.items()
    ]
    return quote(f"{comparison.base_url.rstrip('/')}/trends", safe=":/%") + "?" + "&".join(query)
