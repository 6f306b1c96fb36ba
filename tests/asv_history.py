"""Write small asv results directories with a chosen history, through asv's own writer.

Detection tests need many commits with known values; running asv that often
would take minutes, so the values are given and asv's ``Results`` class writes
the files exactly as ``asv run --record-samples`` would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from asv.results import Results
from asv.runner import BenchmarkResult

MACHINE = "testbox"
ENV_NAME = "existing-py_usr_bin_python"
START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
SAMPLE_OFFSETS = (-0.004, -0.002, -0.001, 0.0, 0.001, 0.002, 0.004)


@dataclass
class BenchmarkSpec:
    """A benchmark as benchmarks.json describes it."""

    name: str
    params: list[list[str]] = field(default_factory=list)
    param_names: list[str] = field(default_factory=list)
    unit: str = "seconds"
    version: str = "1"

    @property
    def type(self) -> str:
        return self.name.rsplit(".", 1)[-1].split("_", 1)[0]

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "unit": self.unit,
            "version": self.version,
            "params": self.params,
            "param_names": self.param_names,
            "timeout": 60,
        }

    @property
    def cells(self) -> int:
        return len(list(itertools.product(*self.params))) if self.params else 1


def commit_hash(index: int) -> str:
    """A fake 40-hex commit hash, distinct per index and easy to read in failures."""
    return f"{index:08x}" + "c0ffee" * 5 + "ab"


def samples_around(value: float | None) -> list[float] | None:
    """Seven samples spread a little (0.4 %) around ``value``, as a quiet machine gives."""
    if value is None or value != value:
        return None
    return [value * (1 + offset) for offset in SAMPLE_OFFSETS]


def write_history(
    results_dir: Path,
    benchmarks: list[BenchmarkSpec],
    values: dict[str, list[list[float | None]]],
    machine: str = MACHINE,
    env_name: str = ENV_NAME,
    first_commit: int = 0,
    torch_versions: list[str] | None = None,
) -> list[str]:
    """Write one results file per commit; ``values[name][commit][cell]`` (None = failed, NaN = skipped).

    Returns the commit hashes, oldest first.
    """
    machine_dir = results_dir / machine
    machine_dir.mkdir(parents=True, exist_ok=True)
    (machine_dir / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    suite = {spec.name: spec.as_json() for spec in benchmarks}
    (results_dir / "benchmarks.json").write_text(json.dumps({**suite, "version": 2}))
    commits = []
    count = len(next(iter(values.values())))
    for k in range(count):
        commit = commit_hash(first_commit + k)
        date = START + dt.timedelta(days=first_commit + k)
        results = Results(
            {"machine": machine, "python": "3.11"},
            {},
            commit,
            int(date.timestamp() * 1000),
            "3.11",
            env_name,
            {},
        )
        for spec in benchmarks:
            cells = values[spec.name][k]
            result = BenchmarkResult(
                result=cells,
                samples=[samples_around(v) for v in cells],
                number=[None if v is None else 1 for v in cells],
                errcode=0 if all(v is not None for v in cells) else 1,
                stderr="",
                profile=None,
            )
            results.add_result(spec.as_json(), result, started_at=date, duration=1.0, record_samples=True)
        results.save(results_dir)
        if torch_versions:
            _write_context(results_dir, machine, commit, env_name, torch_versions[k])
        commits.append(commit)
    return commits


def _write_context(results_dir: Path, machine: str, commit: str, env_name: str, torch_version: str) -> None:
    from asv.results import get_filename

    from sqrtwatch.context import context_path

    path = context_path(results_dir, machine, Path(get_filename(machine, commit, env_name)).stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"torch_version": torch_version}))


def write_run(
    results_dir: Path,
    benchmarks: list[BenchmarkSpec],
    values: dict[str, list[float | None]],
    started_at: dt.datetime,
    commit: str = commit_hash(0),
    machine: str = MACHINE,
    env_name: str = ENV_NAME,
    context: dict | None = None,
    machine_params: dict | None = None,
    started_by_benchmark: dict[str, dt.datetime] | None = None,
) -> Path:
    """Write (or overwrite, as ``asv run`` does) the results file of one run at ``commit``; returns it.

    ``values[name]``: one value per cell. ``context``: written as the run's context
    file (none when None). ``started_by_benchmark`` gives some benchmarks another
    ``started_at`` (values asv carried over from an earlier run).
    """
    machine_dir = results_dir / machine
    machine_dir.mkdir(parents=True, exist_ok=True)
    (machine_dir / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
    suite = {spec.name: spec.as_json() for spec in benchmarks}
    (results_dir / "benchmarks.json").write_text(json.dumps({**suite, "version": 2}))
    params = {"machine": machine, "python": "3.11", **(machine_params or {})}
    results = Results(params, {}, commit, int(START.timestamp() * 1000), "3.11", env_name, {})
    for spec in benchmarks:
        cells = values[spec.name]
        result = BenchmarkResult(
            result=cells,
            samples=[samples_around(v) for v in cells],
            number=[None if v is None else 1 for v in cells],
            errcode=0 if all(v is not None for v in cells) else 1,
            stderr="",
            profile=None,
        )
        started = (started_by_benchmark or {}).get(spec.name, started_at)
        results.add_result(spec.as_json(), result, started_at=started, duration=1.0, record_samples=True)
    results.save(results_dir)
    from asv.results import get_filename

    path = results_dir / get_filename(machine, commit, env_name)
    if context is not None:
        from sqrtwatch.context import context_path

        target = context_path(results_dir, machine, path.stem)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(context))
    return path
