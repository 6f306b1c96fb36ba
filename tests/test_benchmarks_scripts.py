"""scripts/stability.py and scripts/throughput_table.py on small asv results directories."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import REPO_ROOT

COLUMNS = ["result", "params", "version", "started_at", "duration"]
GBPS = "bench_throughput.Bandwidth.track_gbps"
ROOFLINE = "bench_throughput.Bandwidth.track_roofline_fraction"
BANDWIDTH_PARAMS = [["'cpu'"], ["'float32'", "'float64'"], ["10000000"], ["'allocating'", "'out'"]]
BANDWIDTH_NAMES = ["device", "dtype", "size", "variant"]


def write_results(
    root: Path, results: Mapping[str, tuple[list, Sequence[float | None]]], names: dict[str, list[str]]
) -> Path:
    """An asv results directory with one results file holding ``results``."""
    (root / "machine").mkdir(parents=True)
    rows = {name: [values, params, "1", 0, 1.0] for name, (params, values) in results.items()}
    (root / "machine" / "abcdef12-existing.json").write_text(
        json.dumps({"result_columns": COLUMNS, "results": rows})
    )
    (root / "benchmarks.json").write_text(
        json.dumps({name: {"param_names": n} for name, n in names.items()} | {"version": 2})
    )
    return root


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )


def test_stability_reports_median_and_worst_log_ratio(tmp_path):
    params = [["'cpu'"], ["1000", "100000", "10000000"]]
    names = {"b.S.time_sqrt": ["device", "size"]}
    a = write_results(tmp_path / "a", {"b.S.time_sqrt": (params, [1.0, 1.0, 2.0])}, names)
    ratio = math.exp(0.10)  # 10.0% at size 1000, 1.0% and 3.0% at the large sizes
    b = write_results(
        tmp_path / "b", {"b.S.time_sqrt": (params, [ratio, math.exp(0.01), 2.0 * math.exp(-0.03)])}, names
    )
    completed = run_script("stability.py", str(a), str(b))
    assert completed.returncode == 0, completed.stderr
    all_cells, large = completed.stdout.split("cells of size >= 100_000")
    assert "b.S.time_sqrt" in all_cells and "3     3.0%    10.0%  device='cpu', size=1000" in all_cells
    assert "2     2.0%     3.0%  device='cpu', size=10000000" in large


def test_stability_ignores_skipped_and_failed_cells(tmp_path):
    params = [["1", "2", "3"]]
    a = write_results(tmp_path / "a", {"b.X.time_x": (params, [1.0, None, float("nan")])}, {})
    b = write_results(tmp_path / "b", {"b.X.time_x": (params, [1.0, 5.0, 5.0])}, {})
    completed = run_script("stability.py", str(a), str(b))
    assert completed.returncode == 0, completed.stderr
    assert (
        "b.X.time_x                                                     1     0.0%     0.0%  param1=1"
        in completed.stdout
    )


def test_stability_rejects_a_directory_without_results(tmp_path):
    completed = run_script("stability.py", str(tmp_path), str(tmp_path))
    assert completed.returncode != 0
    assert "expected one asv results file" in completed.stderr


def test_throughput_table_derives_copy_bandwidth_from_the_roofline(tmp_path):
    results = {
        GBPS: (BANDWIDTH_PARAMS, [1.0, 4.0, 2.0, 6.0]),  # float32 alloc/out, float64 alloc/out
        ROOFLINE: (BANDWIDTH_PARAMS, [0.1, 0.5, 0.2, 0.75]),
    }
    root = write_results(tmp_path / "r", results, {GBPS: BANDWIDTH_NAMES, ROOFLINE: BANDWIDTH_NAMES})
    completed = run_script("throughput_table.py", str(root))
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[2] == "| float32 | 4.00 | 8.00 | 0.50 | 1.00 |"
    assert lines[3] == "| float64 | 6.00 | 8.00 | 0.75 | 2.00 |"
