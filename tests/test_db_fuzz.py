"""Fuzzing the asv results parser and the ingest: a clean error or a clean load, never a traceback."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqrtwatch.db.ingest.asv_results import (
    ResultsFormatError,
    load_json_bytes,
    parse_benchmarks_json,
    parse_results,
)
from sqrtwatch.db.ingest.directory import ingest_results_dir
from sqrtwatch.db.schema.engine import connect
from tests.db_helpers import exported, table_counts

QUIRKS = Path(__file__).parent / "data" / "asv_quirks" / "results"
MACHINE_DIR = QUIRKS / "host.with.dots"
SAMPLES = {path.name: path.read_bytes() for path in MACHINE_DIR.glob("*-*.json")}
SUITE = parse_benchmarks_json(json.loads((QUIRKS / "benchmarks.json").read_text()))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    """Every path (tuple of keys/indexes) into a JSON tree."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_files(draw) -> tuple[str, bytes]:
    """A real results file with one part replaced by arbitrary JSON, or cut short, or renamed."""
    name = draw(st.sampled_from(sorted(SAMPLES)))
    raw = SAMPLES[name]
    how = draw(st.sampled_from(["replace", "truncate", "rename"]))
    if how == "truncate":
        return name, raw[: draw(st.integers(0, len(raw) - 1))]
    data = json.loads(raw)
    if how == "rename":
        # Unicode (surrogates included) in benchmark, machine and parameter names.
        new = draw(st.text(min_size=1, max_size=30))
        benchmark = draw(st.sampled_from(sorted(data["results"])))
        data["results"][new] = data["results"].pop(benchmark)
        data["params"]["machine"] = draw(st.text(max_size=30))
    else:
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(json_values)
    return name, json.dumps(data).encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(mutated_files())
def test_the_parser_only_raises_format_errors(sample):
    name, raw = sample
    try:
        parsed = parse_results(load_json_bytes(raw), name, SUITE, "host.with.dots")
    except ResultsFormatError as error:
        assert str(error)
    else:
        assert all(value.status in ("ok", "failed", "skipped") for value in parsed.values)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_ingest_loads_a_file_whole_or_reports_it_and_writes_nothing(sample):
    name, raw = sample
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(shutil.copytree(QUIRKS, Path(tmp) / "results"))
        mutated = results / "host.with.dots" / name
        mutated.unlink()
        engine = connect(f"sqlite:///{Path(tmp) / 'fuzz.db'}")
        assert ingest_results_dir(engine, results).errors == []
        before, values_before = table_counts(engine), exported(engine)
        mutated.write_bytes(raw)
        report = ingest_results_dir(engine, results)
        if report.errors:
            assert [error.path for error in report.errors] == [mutated]
            assert table_counts(engine) == before and exported(engine) == values_before
        else:
            assert report.files_loaded == 1
            assert len(exported(engine)) == len(values_before) + report.values_loaded
        engine.dispose()
