"""``sqrtwatch compare BASE HEAD``: every benchmark of two selections side by side.

A selection is comma-separated filters, ``kind:value``: ``commit:abc123`` (hash
prefix), ``torch:2.13.0``, ``env:NAME``, ``machine:NAME``; a bare word is a commit
prefix. Example: ``compare torch:2.12.0,machine:ci torch:2.13.0,machine:ci``.
Rows are matched on benchmark and parameters, plus machine and environment
unless a selection names them (a ``torch:`` selection implies other
environments); where a selection holds several runs of a row, the newest wins.
A timing row is regressed or improved only if its change is significant within
the two runs (Mann-Whitney U on their samples) and larger than both the factor
and ``noise_k`` times the run-to-run noise of its series' history
(:mod:`sqrtwatch.db.comparison.noise`).
"""

from __future__ import annotations

import collections
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import quote

import pandas as pd
from scipy.stats import mannwhitneyu
from sqlalchemy.engine import Engine

from ..detection.causes import cause, context_fields, describe
from ..detection.changepoints import DetectionConfig
from ..detection.series import decode_samples, higher_is_better, is_deterministic, load_values
from ..schema.engine import session_scope
from .noise import attach_noise, difference_noise

# asv compare's default: a change smaller than 10 % is not reported as regressed/improved.
DEFAULT_FACTOR = 1.10
# Mann-Whitney U significance level (asv compare uses 0.002 on its own statistics).
DEFAULT_ALPHA = 0.01
# A change must exceed this many standard deviations of log(head / base) that run-to-run
# noise alone gives: detection's z threshold (min_z) for one point on either side. With the
# noise estimated from 20 runs, normal noise passes it 0.3 % of the time, heavy-tailed 2 %.
DEFAULT_NOISE_K = DetectionConfig.min_z
BASE_URL_ENV = "SQRTWATCH_BASE_URL"
FILTER_KINDS = {"commit": "commit_hash", "torch": "torch_version", "env": "env_name", "machine": "machine"}
MARKS = ("regressed", "improved", "not significant", "new", "missing", "failed", "incomparable")
MARK_ORDER = {
    "regressed": 0,
    "failed": 1,
    "improved": 2,
    "missing": 3,
    "new": 4,
    "incomparable": 5,
    "not significant": 6,
}


class CompareError(ValueError):
    """A selection is malformed or matches nothing; the message says which."""


@dataclass(frozen=True)
class Selection:
    """Filters on the stored results, parsed from ``kind:value,...``."""

    text: str
    filters: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> Selection:
        """``commit:abc``, ``torch:2.13.0``, ``env:NAME``, ``machine:NAME`` (comma-joined); bare = commit."""
        filters = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            kind, sep, value = part.partition(":")
            if not sep:
                kind, value = "commit", part
            if kind not in FILTER_KINDS or not value:
                raise CompareError(
                    f"bad selection {part!r} in {text!r}: want commit:HASH, torch:VERSION, env:NAME or machine:NAME"
                )
            filters.append((kind, value))
        if not filters:
            raise CompareError("empty selection: name a commit, torch:VERSION, env:NAME or machine:NAME")
        return cls(text, tuple(filters))

    def where(self):
        """The selection as a SQL condition on runs joined with their machine, environment and revision."""
        from sqlalchemy import and_, or_

        from ..schema.models import Environment, Machine, Revision, Run

        conditions = []
        for kind, value in self.filters:
            if kind == "commit":
                conditions.append(Revision.commit_hash.startswith(value, autoescape=True))
            elif kind == "torch" and "+" not in value:
                # torch:2.13.0 names every build of that release (2.13.0+cpu, 2.13.0+cu130...)
                conditions.append(
                    or_(
                        Run.torch_version == value, Run.torch_version.startswith(value + "+", autoescape=True)
                    )
                )
            elif kind == "torch":
                conditions.append(Run.torch_version == value)
            elif kind == "env":
                conditions.append(Environment.name == value)
            else:
                conditions.append(Machine.name == value)
        return and_(*conditions)

    @property
    def kinds(self) -> set[str]:
        return {kind for kind, _ in self.filters}


@dataclass(frozen=True)
class Row:
    """One benchmark cell compared."""

    benchmark: str
    params: dict[str, str]
    machine: str
    env_name: str
    unit: str | None
    base: float | None
    head: float | None
    ratio: float | None
    p_value: float | None
    test: str  # "mann-whitney", "ci-overlap", "exact" or "" when not compared
    mark: str
    # sd of log(head / base) from run-to-run noise (None: too little history, or not a timing row)
    noise: float | None = None
    noise_runs: int = 0  # earlier runs the noise rests on (the fewer of the two sides)
    threshold: float | None = None  # the ratio (or its inverse) a timing change had to reach
    # Context fields that differ between the base and the head run (docs/history.md).
    cause: dict[str, list] = field(default_factory=dict)


@dataclass
class Comparison:
    """The rows of BASE against HEAD, with the factor and the multiple of run-to-run noise that make a change count."""

    base: str
    head: str
    factor: float
    rows: list[Row] = field(default_factory=list)
    base_url: str | None = None
    noise_k: float = DEFAULT_NOISE_K

    def counts(self) -> dict[str, int]:
        return {mark: sum(row.mark == mark for row in self.rows) for mark in MARKS}

    def within_noise(self, row: Row) -> bool:
        """Whether the row's change reached the factor but not its series' run-to-run noise threshold."""
        size = _change_size(row.ratio)
        return row.threshold is not None and math.log(self.factor) <= size < math.log(row.threshold)

    def noise_unknown(self) -> int:
        """Timing rows compared without a noise estimate (too little history): only the factor held them."""
        return sum(row.threshold is not None and row.noise is None for row in self.rows)

    def has_significant_regression(self) -> bool:
        """Whether any row regressed significantly by at least the factor (the ``--fail-on-regression`` test)."""
        return any(row.mark == "regressed" for row in self.rows)


def compare_selections(
    engine: Engine,
    base: str,
    head: str,
    factor: float = DEFAULT_FACTOR,
    alpha: float = DEFAULT_ALPHA,
    noise_k: float = DEFAULT_NOISE_K,
) -> Comparison:
    """Compare the newest result of every benchmark cell in ``base`` with ``head``.

    ``noise_k``: a timing change must also exceed this many standard deviations of the
    run-to-run noise of its series (0: the factor and the samples alone decide).
    """
    if factor < 1:
        raise CompareError(f"factor must be at least 1, got {factor}")
    if not noise_k >= 0:
        raise CompareError(f"noise multiple must be at least 0, got {noise_k}")
    base_sel, head_sel = Selection.parse(base), Selection.parse(head)
    named = base_sel.kinds | head_sel.kinds
    key = ["benchmark", "params"] + [
        column
        for kind, column in (("machine", "machine"), ("env", "env_name"))
        if kind not in named and not (kind == "env" and "torch" in named)
    ]
    with session_scope(engine, write=False) as session:
        sides = [_newest_cells(session, selection, key) for selection in (base_sel, head_sel)]
        attach_noise(session, [*sides[0].values(), *sides[1].values()])
        fields = _run_fields(session, [*sides[0].values(), *sides[1].values()])
    comparison = Comparison(
        base, head, factor, base_url=os.environ.get(BASE_URL_ENV) or None, noise_k=noise_k
    )
    for index in sorted(sides[0].keys() | sides[1].keys()):
        row = _compare_cell(
            dict(zip(key, index)), sides[0].get(index), sides[1].get(index), factor, alpha, noise_k
        )
        if row is not None:
            base_cell, head_cell = sides[0].get(index), sides[1].get(index)
            if base_cell is not None and head_cell is not None:
                row = replace(row, cause=cause(fields[base_cell["run_id"]], fields[head_cell["run_id"]]))
            comparison.rows.append(row)
    comparison.rows.sort(key=lambda r: (MARK_ORDER[r.mark], -_change_size(r.ratio), r.benchmark))
    return comparison


def _run_fields(session, cells: list[dict]) -> dict[int, dict]:
    """The context fields (for causes) of the runs the cells come from, by run id."""
    from sqlalchemy import select

    from ..schema.models import Revision, Run

    run_ids = sorted({int(cell["run_id"]) for cell in cells})
    rows = session.execute(
        select(Run.id, Run.context, Revision.commit_hash)
        .join(Revision, Revision.id == Run.revision_id)
        .where(Run.id.in_(run_ids))
    ).all()
    return {run_id: context_fields(context, commit) for run_id, context, commit in rows}


def _cause_lines(comparison: Comparison) -> list[str]:
    """What differs between the base and head runs, one line per distinct cause, most cells first."""
    counts = collections.Counter(
        json.dumps(row.cause, sort_keys=True) for row in comparison.rows if row.cause
    )
    return [f"Context changed ({n} cells): {describe(json.loads(text))}" for text, n in counts.most_common()]


def _newest_cells(session, selection: Selection, key: list[str]) -> dict[tuple, dict]:
    """The newest value of every ``key`` among the runs ``selection`` names, with samples decoded.

    The selection is applied in SQL. Runs are read newest first, in growing batches,
    until every key the selection holds has its value: usually the newest run has
    them all, so one run's values are read however many runs are selected.
    """
    from sqlalchemy import select

    from ..schema.models import Benchmark, Environment, Machine, ResultValue, Revision, Run

    def selected(*columns):
        return (
            select(*columns)
            .select_from(Run)
            .join(Machine, Machine.id == Run.machine_id)
            .join(Environment, Environment.id == Run.environment_id)
            .join(Revision, Revision.id == Run.revision_id)
            .where(selection.where())
        )

    from ..queries import RUN_TIME

    columns = ["run_id", "machine", "env_name", "run_time"]
    runs = pd.DataFrame(
        session.execute(selected(Run.id, Machine.name, Environment.name, RUN_TIME)).all(),
        columns=columns,
    ).sort_values(["run_time", "run_id"])  # newest last, as the values are ranked below
    wanted = None
    if len(runs) > 1:
        # The keys present: one pass over the covering (run, benchmark, params) index.
        statement = (
            selected(Benchmark.name, ResultValue.params, Machine.name, Environment.name)
            .join(ResultValue, ResultValue.run_id == Run.id)
            .join(Benchmark, Benchmark.id == ResultValue.benchmark_id)
        )
        positions = [["benchmark", "params", "machine", "env_name"].index(column) for column in key]
        wanted = {tuple(row[i] for i in positions) for row in session.execute(statement.distinct())}
    newest_first = runs["run_id"].tolist()[::-1]
    cells: dict[tuple, dict] = {}
    start, batch = 0, 1
    while start < len(newest_first) and (wanted is None or len(cells) < len(wanted)):
        values = load_values(session, newest_first[start : start + batch], intervals=True).merge(
            runs, on="run_id"
        )
        values = values.sort_values(["run_time", "run_id"]).drop_duplicates(key, keep="last")
        for record in values.to_dict("records"):
            cells.setdefault(tuple(record[column] for column in key), record)  # newer batches came first
        start, batch = start + batch, batch * 4
    if not cells:
        raise CompareError(f"selection {selection.text!r} matches no stored results")
    samples = decode_samples([record["samples"] for record in cells.values()])
    for record, decoded in zip(cells.values(), samples):
        record["samples"] = decoded
    return cells


def _change_size(ratio: float | None) -> float:
    """How far a ratio is from 1 (log scale); a change from 0 (no finite ratio) is the largest."""
    return math.inf if ratio is None or ratio <= 0 else abs(math.log(ratio))


def _ratio(base: float, head: float) -> float | None:
    """head / base; 0 -> 0 is no change (1.0), and 0 -> x has no finite ratio (None, as alerts store it)."""
    if base == 0:
        return 1.0 if head == 0 else None
    return head / base


def _compare_cell(key: dict, base, head, factor: float, alpha: float, noise_k: float) -> Row | None:
    """One compared row; None when neither side measured the cell (skipped or absent on both)."""
    either = head if head is not None else base
    row = dict(
        benchmark=key["benchmark"],
        params=json.loads(key["params"]) if key["params"] else {},
        machine=key["machine"] if "machine" in key else either["machine"],
        env_name=key["env_name"] if "env_name" in key else either["env_name"],
        unit=either["unit"],
        base=_value(base),
        head=_value(head),
        ratio=None,
        p_value=None,
        test="",
    )
    base_ok = base is not None and base["status"] == "ok"
    if head is None or head["status"] == "skipped":
        return Row(**row, mark="missing") if base_ok else None
    if head["status"] != "ok":
        return Row(**row, mark="failed")
    if not base_ok:
        return Row(**row, mark="new")
    if base["version"] != head["version"] or base["unit"] != head["unit"]:
        return Row(**row, mark="incomparable")
    ratio = _ratio(base["value"], head["value"])
    significant, p_value, test = _significance(key["benchmark"], base, head, alpha)
    row.update(ratio=ratio, p_value=p_value, test=test)
    if higher_is_better(key["benchmark"], head["unit"]):
        worse = head["value"] < base["value"]
    else:
        worse = head["value"] > base["value"]
    if is_deterministic(key["benchmark"], head["unit"]):
        big = ratio != 1  # an accuracy count: any change counts
    else:
        # Within-run samples miss the noise between runs: the change must also stand out from
        # how much this series moves from run to run (where its history shows that).
        noise = difference_noise(base["noise"], head["noise"])
        threshold = math.exp(max(math.log(factor), noise_k * noise)) if noise is not None else factor
        row.update(noise=noise, noise_runs=min(base["noise_runs"], head["noise_runs"]), threshold=threshold)
        big = _change_size(ratio) >= math.log(threshold)
    if significant and big:
        return Row(**row, mark="regressed" if worse else "improved")
    return Row(**row, mark="not significant")


def _value(point) -> float | None:
    if point is None or point["value"] is None or not math.isfinite(point["value"]):
        return None
    return float(point["value"])


def _significance(benchmark: str, base, head, alpha: float) -> tuple[bool, float | None, str]:
    """Mann-Whitney U on the samples; 99 % confidence intervals overlapping when there are none."""
    if is_deterministic(benchmark, head["unit"]):
        return base["value"] != head["value"], None, "exact"
    a, b = base["samples"], head["samples"]  # finite floats already (decode_samples)
    if a and b and len(a) >= 2 and len(b) >= 2:
        p_value = float(mannwhitneyu(a, b).pvalue)
        return p_value < alpha, p_value, "mann-whitney"
    intervals = [(p["ci_99_a"], p["ci_99_b"]) for p in (base, head)]
    if all(x is not None and math.isfinite(x) for interval in intervals for x in interval):
        (a_lo, a_hi), (b_lo, b_hi) = intervals
        return a_hi < b_lo or b_hi < a_lo, None, "ci-overlap"
    return False, None, ""


def format_comparison(comparison: Comparison, fmt: str) -> str:
    """The comparison as ``markdown`` (a PR comment body), ``json`` or aligned ``text``."""
    if fmt == "json":
        return json.dumps(
            {
                "base": comparison.base,
                "head": comparison.head,
                "factor": comparison.factor,
                "noise_k": comparison.noise_k,
                "counts": comparison.counts(),
                "rows": [asdict(row) for row in comparison.rows],
            },
            indent=2,
        )
    if fmt == "markdown":
        return _markdown(comparison)
    if fmt == "text":
        return _text(comparison)
    raise CompareError(f"unknown format {fmt!r}; expected markdown, json or text")


def summary_line(comparison: Comparison) -> str:
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


HEADER = ["mark", "ratio", "benchmark", "params", "machine", "base", "head", "p", "noise", "threshold"]


def _cells(row: Row, link: str | None = None) -> list[str]:
    params = ", ".join(f"{k}={v}" for k, v in row.params.items())
    name = f"[{row.benchmark}]({link})" if link else row.benchmark
    ratio = f"{row.ratio:.3f}" if row.ratio is not None and math.isfinite(row.ratio) else "-"
    p = f"{row.p_value:.2g}" if row.p_value is not None else (row.test or "-")
    return [
        row.mark,
        ratio,
        name,
        params,
        row.machine,
        _number(row.base),
        _number(row.head),
        p,
        *_noise_cells(row),
    ]


def _noise_cells(row: Row) -> list[str]:
    """Run-to-run noise as a percentage ("?": too little history) and the ratio a change had to reach."""
    if row.threshold is None:
        return ["-", "-"]
    noise = "?" if row.noise is None else f"{math.expm1(row.noise):.1%}"
    return [noise, f"{row.threshold:.3f}"]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _link(comparison: Comparison, row: Row) -> str | None:
    """Dashboard Trends page of the row's series (``SQRTWATCH_BASE_URL``)."""
    if not comparison.base_url:
        return None
    query = [f"bench={quote(row.benchmark)}", f"machine={quote(row.machine)}"]
    query += [f"p.{quote(name)}={quote(value.strip(chr(39)))}" for name, value in row.params.items()]
    return f"{comparison.base_url.rstrip('/')}/trends?{'&'.join(query)}"


def _markdown_table(comparison: Comparison, rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|") for c in _cells(row, _link(comparison, row))) + " |"
        )
    return lines


def _markdown(comparison: Comparison) -> str:
    lines = [f"**{summary_line(comparison)}**", ""]
    causes = _cause_lines(comparison)
    if causes:
        lines += [*(f"- {line}" for line in causes), ""]
    attention = [row for row in comparison.rows if row.mark in ("regressed", "failed")]
    if attention:
        lines += ["### Regressions and failures", "", *_markdown_table(comparison, attention), ""]
    lines += [
        "<details>",
        f"<summary>All {len(comparison.rows)} benchmarks</summary>",
        "",
        *_markdown_table(comparison, comparison.rows),
        "",
        "</details>",
    ]
    return "\n".join(lines)


def _text(comparison: Comparison) -> str:
    rows = [HEADER] + [_cells(row) for row in comparison.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    table = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    causes = _cause_lines(comparison)
    return "\n".join([summary_line(comparison), "", *table, *(["", *causes] if causes else [])])
