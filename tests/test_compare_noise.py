"""``sqrtwatch compare`` holds back changes that lie within a series' run-to-run noise.

The history is written by asv's own writer and ingested into a real SQLite file:
one benchmark with 5 % run-to-run noise over 20 commits, then two compared runs
whose samples (0.4 % spread) make any difference Mann-Whitney significant.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, commit_hash, write_history

NOISY = BenchmarkSpec("bench_throughput.Noisy.time_sqrt", [["'float32'", "'float64'"]], ["dtype"])
HISTORY = 20  # commits 0-19; commit 20 is the base, 21 the head
RUN_NOISE = 0.05  # sd of log value from run to run
SAME_CODE_RATIO = 1.13  # float32 at the head: beyond the factor 1.10, within 4 x noise
STEP_RATIO = 1.8  # float64 at the head: a real slowdown


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    directory = tmp_path_factory.mktemp("noisy")
    rng = np.random.default_rng(3)
    levels = [1e-4, 2e-4]
    rows = [[level * math.exp(rng.normal(0, RUN_NOISE)) for level in levels] for _ in range(HISTORY)]
    rows += [levels, [levels[0] * SAME_CODE_RATIO, levels[1] * STEP_RATIO]]
    write_history(directory / "results", [NOISY], {NOISY.name: rows})
    engine = connect(f"sqlite:///{directory / 'noisy.db'}")
    assert not ingest_results_dir(engine, directory / "results").errors
    engine.dispose()
    return f"sqlite:///{directory / 'noisy.db'}"


def compare(url: str, base: int, head: int, *args: str) -> str:
    result = CliRunner().invoke(
        main, ["compare", commit_hash(base)[:8], commit_hash(head)[:8], "--db", url, *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def rows_by_dtype(output: str) -> dict[str, dict]:
    return {row["params"]["dtype"]: row for row in json.loads(output)["rows"]}


def test_change_within_run_to_run_noise_is_not_flagged(url):
    rows = rows_by_dtype(compare(url, HISTORY, HISTORY + 1, "--format", "json"))
    same = rows["'float32'"]
    assert same["p_value"] < 0.01 and same["ratio"] == pytest.approx(SAME_CODE_RATIO, rel=1e-6)
    assert same["mark"] == "not significant"
    # Without the noise floor the within-run samples alone call it a regression.
    rows = rows_by_dtype(compare(url, HISTORY, HISTORY + 1, "--format", "json", "--noise-k", "0"))
    assert rows["'float32'"]["mark"] == "regressed"


def test_step_beyond_the_noise_is_flagged(url):
    rows = rows_by_dtype(compare(url, HISTORY, HISTORY + 1, "--format", "json"))
    assert rows["'float64'"]["mark"] == "regressed"
    assert rows["'float64'"]["ratio"] > rows["'float64'"]["threshold"]


def test_noise_figure_in_every_format(url):
    output = compare(url, HISTORY, HISTORY + 1, "--format", "json")
    same = rows_by_dtype(output)["'float32'"]
    # Two runs of a series with 5 % noise each: log(head / base) has an sd of about 7 %.
    assert 0.04 < same["noise"] < 0.12 and same["noise_runs"] == HISTORY
    assert same["threshold"] == pytest.approx(math.exp(4 * same["noise"]))
    assert json.loads(output)["noise_k"] == 4.0
    text = compare(url, HISTORY, HISTORY + 1)
    assert "1 within noise" in text.splitlines()[0]
    header = text.splitlines()[2].split()
    line = next(line for line in text.splitlines() if "float32" in line).split()
    assert header[-2:] == ["noise", "threshold"]
    assert line[-2:] == [f"{math.expm1(same['noise']):.1%}", f"{same['threshold']:.3f}"]
    markdown = compare(url, HISTORY, HISTORY + 1, "--format", "markdown")
    assert "| noise | threshold |" in markdown and f"| {same['threshold']:.3f} |" in markdown


def test_too_little_history_keeps_the_factor_and_says_so(url):
    output = compare(url, 1, 2, "--format", "json")
    rows = rows_by_dtype(output)
    assert all(row["noise"] is None and row["threshold"] == 1.1 for row in rows.values())
    assert rows["'float32'"]["noise_runs"] == 1  # the base's one earlier run
    text = compare(url, 1, 2)
    assert "noise unknown for 2" in text.splitlines()[0]
    assert next(line for line in text.splitlines() if "float32" in line).split()[-2:] == ["?", "1.100"]
