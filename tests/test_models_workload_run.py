"""``sqrtwatch trace --format json`` then ``sqrtwatch run --workload``: a real asv run of the recorded calls."""

from __future__ import annotations

import itertools
import json
import os

import pytest

from tests.conftest import REPO_ROOT, run_sqrtwatch

pytestmark = pytest.mark.slow


def test_traced_workload_is_benchmarked_by_asv(tmp_path):
    workload = tmp_path / "step.json"
    run_sqrtwatch(
        "trace", "tests.test_models_tracer:layer_norm_step", "--format", "json", "-o", str(workload)
    )
    results = tmp_path / "results"
    # benchmark processes import this checkout's sqrtwatch (asv drops PYTHONPATH)
    env = os.environ | {"ASV_PYTHONPATH": str(REPO_ROOT)}
    run_sqrtwatch("run", "--workload", str(workload), "--results", str(results), env=env)
    [results_file] = [p for p in results.glob("*/*.json") if p.name != "machine.json"]
    data = json.loads(results_file.read_text())
    assert set(data["results"]) == {"bench_workload.Workload.time_call"}
    row = dict(zip(data["result_columns"], data["results"]["bench_workload.Workload.time_call"]))
    cells = dict(zip(itertools.product(*row["params"]), row["result"]))
    assert list(cells) == [("'00 native_layer_norm 32x64 float32 cpu'",)]
    assert 0 < next(iter(cells.values())) < 1
