"""``sqrtwatch compare`` through click: selections, marks, markdown PR body, exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.db.comparison.compare import CompareError, Selection
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.asv_history import BenchmarkSpec, commit_hash, write_history
from tests.detect_history import SPECS, build_database, copy_database, history_values


@pytest.fixture(scope="module")
def history_db(tmp_path_factory):
    return build_database(tmp_path_factory.mktemp("history"))


@pytest.fixture
def url(history_db, tmp_path):
    return copy_database(history_db, tmp_path)


def compare(url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["compare", *args, "--db", url])
    assert result.exit_code == code, result.output
    return result.output


def marks(output: str) -> dict[tuple[str, str], str]:
    rows = json.loads(output)["rows"]
    return {(r["benchmark"].split(".")[1], r["params"].get("dtype", "")): r["mark"] for r in rows}


def test_step_commit_regressed_others_not(url):
    found = marks(compare(url, commit_hash(11)[:8], f"commit:{commit_hash(12)[:10]}", "--format", "json"))
    assert found[("Step", "'float32'")] == "regressed"
    assert found[("Step", "'float64'")] == "not significant"
    assert found[("Versioned", "'float32'")] == "incomparable"  # benchmark version 1 -> 2


def test_failed_accuracy_and_rate_marks(url):
    assert (
        marks(compare(url, commit_hash(17)[:8], commit_hash(18)[:8], "--format", "json"))[
            ("Flaky", "'float32'")
        ]
        == "failed"
    )
    found = marks(compare(url, commit_hash(19)[:8], commit_hash(20)[:8], "--format", "json"))
    assert found[("Ulp", "'float32'")] == "regressed"  # 0 -> 1 ulp: any increase
    assert found[("Ulp", "'float64'")] == "not significant"
    found = marks(compare(url, commit_hash(14)[:8], commit_hash(13)[:8], "--format", "json"))
    assert found[("Rate", "'float64'")] == "improved"  # GB/s back up: higher is better


def test_markdown_is_a_pr_comment(url, monkeypatch):
    monkeypatch.setenv("SQRTWATCH_BASE_URL", "https://dash.example/")
    body = compare(url, commit_hash(11)[:8], commit_hash(12)[:8], "--format", "markdown")
    lines = body.splitlines()
    assert lines[0].startswith("**Regressions found:") and "1 regressed" in lines[0]
    regressions = body.index("### Regressions")
    assert regressions < body.index("<details>") < body.index("</details>")
    assert (
        "[bench_throughput.Step.time_sqrt](https://dash.example/trends?bench=bench_throughput.Step.time_sqrt"
        in body
    )
    assert "p.dtype=float32" in body


def test_fail_on_regression_exit_code(url):
    compare(url, commit_hash(11)[:8], commit_hash(12)[:8], "--fail-on-regression", code=1)
    compare(url, commit_hash(2)[:8], commit_hash(3)[:8], "--fail-on-regression", code=0)
    # The step is 1.5x: a factor of 2 lets it pass.
    compare(url, commit_hash(11)[:8], commit_hash(12)[:8], "--fail-on-regression", "--factor", "2", code=0)


def test_new_missing_and_torch_selection(url, tmp_path):
    renamed = [spec for spec in SPECS if "Step" not in spec.name] + [
        BenchmarkSpec("bench_throughput.Brand.time_new", [["'float32'", "'float64'"]], ["dtype"])
    ]
    values = history_values(range(24, 25), run_wide={})
    values["bench_throughput.Brand.time_new"] = [[1e-4, 2e-4]]
    write_history(
        tmp_path / "more",
        renamed,
        {s.name: values[s.name] for s in renamed},
        first_commit=24,
        torch_versions=["2.14.0"],
    )
    engine = connect(url)
    assert not ingest_results_dir(engine, tmp_path / "more").errors
    engine.dispose()
    output = compare(url, "torch:2.13.0", "torch:2.14.0", "--format", "json")
    found = marks(output)
    assert found[("Step", "'float32'")] == "missing"
    assert found[("Brand", "'float64'")] == "new"
    text = compare(url, "torch:2.13.0", "torch:2.14.0")
    assert text.splitlines()[0].startswith("No significant regression: torch:2.14.0 vs torch:2.13.0")
    # The machine's newest run lacks Step: its newest value comes from the run before.
    found = marks(compare(url, commit_hash(23)[:8], "machine:testbox", "--format", "json"))
    assert found[("Step", "'float32'")] == "not significant" and found[("Brand", "'float64'")] == "new"


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        ("abc123", (("commit", "abc123"),)),
        ("torch:2.13.0,machine:ci", (("torch", "2.13.0"), ("machine", "ci"))),
        ("env:existing-py_usr", (("env", "existing-py_usr"),)),
    ],
)
def test_selection_syntax(text, filters):
    assert Selection.parse(text).filters == filters


def test_bad_selections_are_clear_errors(url):
    with pytest.raises(CompareError, match="want commit:HASH"):
        Selection.parse("tag:v1")
    output = compare(url, "deadbeef", commit_hash(1)[:8], code=1)
    assert "selection 'deadbeef' matches no stored results" in output


def test_selection_filters_runs_in_sql(tmp_path):
    """torch:X.Y.Z names every build of the release; a commit prefix is matched literally."""
    import sqlalchemy as sa

    from sqrtwatch.db.schema.engine import session_scope
    from sqrtwatch.db.schema.models import Environment, Machine, Revision, Run

    engine = connect(f"sqlite:///{tmp_path / 'runs.db'}")
    versions = ["2.13.0+cpu", "2.13.0+cu130", "2.13.0", "2.13.01", "2.14.1+cpu", None]
    with session_scope(engine) as session:
        machine = Machine(name="ci")
        for i, version in enumerate(versions):
            revision = Revision(commit_hash=f"{i:02d}" + "ab" * 19, date=i)
            environment = Environment(machine=machine, name=f"env-{i}")
            session.add(
                Run(machine=machine, environment=environment, revision=revision, torch_version=version)
            )

    def selected(text: str) -> list[str | None]:
        statement = (
            sa.select(Run.torch_version)
            .join(Machine, Machine.id == Run.machine_id)
            .join(Environment, Environment.id == Run.environment_id)
            .join(Revision, Revision.id == Run.revision_id)
            .where(Selection.parse(text).where())
            .order_by(Run.id)
        )
        with session_scope(engine, write=False) as session:
            return list(session.scalars(statement))

    assert selected("torch:2.13.0") == ["2.13.0+cpu", "2.13.0+cu130", "2.13.0"]
    assert selected("torch:2.13.0+cu130") == ["2.13.0+cu130"]
    assert selected("torch:2.13.0,env:env-1,machine:ci") == ["2.13.0+cu130"]
    assert selected("03ab") == ["2.13.01"]
    assert selected("commit:0_") == [] and selected("commit:%") == []  # LIKE wildcards are literal
    engine.dispose()


def test_zero_over_zero_is_unchanged_and_zero_to_some_has_no_ratio(url):
    """Accuracy counts 0 -> 0 compare as equal (ratio 1); 0 -> 1 ulp regresses with ratio null, as alerts store it."""

    def strict(constant):
        raise AssertionError(f"{constant} in JSON output")

    def ulp_rows(base: int, head: int) -> dict[str, dict]:
        output = compare(url, commit_hash(base)[:8], commit_hash(head)[:8], "--format", "json")
        rows = json.loads(output, parse_constant=strict)["rows"]
        return {r["params"]["dtype"]: r for r in rows if "Ulp" in r["benchmark"]}

    rows = ulp_rows(19, 20)
    assert (rows["'float64'"]["base"], rows["'float64'"]["head"]) == (0.0, 0.0)
    assert rows["'float64'"]["ratio"] == 1.0 and rows["'float64'"]["test"] == "exact"
    assert rows["'float64'"]["mark"] == "not significant"
    assert (rows["'float32'"]["base"], rows["'float32'"]["head"]) == (0.0, 1.0)
    assert rows["'float32'"]["ratio"] is None and rows["'float32'"]["mark"] == "regressed"
    # Back to 0 ulp is an improvement with ratio 0.
    rows = ulp_rows(20, 19)
    assert rows["'float32'"]["ratio"] == 0.0 and rows["'float32'"]["mark"] == "improved"
    text = compare(url, commit_hash(19)[:8], commit_hash(20)[:8], "--format", "text")
    ulp_line = next(line for line in text.splitlines() if "Ulp" in line and "float32" in line)
    assert ulp_line.split()[:2] == ["regressed", "-"]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("a" * 50_000, "selection of 50000 characters: at most 1000"),
        (",".join(["machine:x"] * 1000), "characters: at most 1000"),
        (",".join(["machine:x"] * 17), "selection with 17 filters: at most 16"),
    ],
)
def test_oversized_selections_are_refused_plainly(url, selection, message):
    for base, head in ((selection, commit_hash(1)[:8]), (commit_hash(1)[:8], selection)):
        output = compare(url, base, head, code=1)
        assert message in output and "Traceback" not in output


def test_compare_json_is_strict_with_a_zero_base(tmp_path):
    spec = BenchmarkSpec("bench_throughput.Zero.time_sqrt")
    write_history(tmp_path / "results", [spec], {spec.name: [[0.0], [1.0]]})
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = connect(url)
    assert not ingest_results_dir(engine, tmp_path / "results").errors
    engine.dispose()
    output = compare(url, commit_hash(0)[:8], commit_hash(1)[:8], "--format", "json")
    json.loads(output, parse_constant=lambda constant: pytest.fail(f"bare {constant}"))
