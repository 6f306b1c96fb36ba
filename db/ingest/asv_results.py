"""Parse asv results files (format 2 and legacy format 1) into plain, validated records.

Follows asv's own reader (``asv/results.py``: ``Results.load``, ``update_to_2``,
``_compatible_results``) but never raises anything except
:class:`ResultsFormatError`, whose message says what is wrong, so that a bad
file is reported and skipped, not a traceback.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any, Literal, NamedTuple, overload

from ..schema.models import STATUS_FAILED, STATUS_OK, STATUS_SKIPPED, params_key

SUPPORTED_VERSIONS = (1, 2)
# Column sizes of the schema (db/schema/models.py); longer strings are a format error.
MAX_NAME = 1000
MAX_MACHINE = 255
MAX_COMMIT = 64
MAX_VERSION = 255
INT64_MAX = 2**63 - 1
# More parameter combinations than any real suite has: a corrupt file, not data.
MAX_COMBINATIONS = 1_000_000
# Largest results, benchmarks, machine or context file read (real ones are a few MiB at most).
MAX_FILE_BYTES = 256 * 2**20
# Deepest JSON nesting kept (asv's own files nest 4 levels; environment records a few more).
MAX_DEPTH = 64

# asv's name prefixes -> (benchmark type, unit), for benchmarks not in benchmarks.json.
_TYPE_BY_PREFIX = {
    "time_": ("time", "seconds"),
    "timeraw_": ("time", "seconds"),
    "mem_": ("memory", "bytes"),
    "peakmem_": ("peakmemory", "bytes"),
    "track_": ("track", None),
}


class ResultsFormatError(ValueError):
    """A results, benchmarks or machine file that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class SuiteBenchmark:
    """What benchmarks.json says about one benchmark."""

    name: str
    type: str | None
    unit: str | None
    param_names: list[str]
    version: str | None
    source_hash: str | None


class ParsedValue(NamedTuple):
    """One result value: a benchmark at one parameter combination."""

    benchmark: str
    version: str | None
    params_key: str  # models.params_key() of {parameter name: asv repr string}
    param_index: int  # position in itertools.product order
    status: str
    value: float | None
    ci_99_a: float | None
    ci_99_b: float | None
    q_25: float | None
    q_75: float | None
    number: int | None
    repeat: int | None
    n_samples: int | None
    samples: list | None
    started_at: int | None
    duration: float | None


@dataclass
class ParsedResults:
    """One asv results file: who ran what where, and every value in it."""

    machine: str
    commit_hash: str
    date: int | None
    env_name: str
    python: str | None
    requirements: Any
    env_vars: Any
    machine_params: dict[str, Any]
    durations: Any
    values: list[ParsedValue] = field(default_factory=list)

    # Pickled column by column: ingest workers send parsed files to the writer,
    # and thousands of small tuples unpickle ~10x slower than a few long ones.
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "values": list(zip(*self.values))}

    def __setstate__(self, state: dict[str, Any]) -> None:
        columns = state["values"]
        self.__dict__.update(state, values=list(map(ParsedValue, *columns)) if columns else [])


# ---------------------------------------------------------------- primitives


def read_file_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``: a regular file of at most ``limit`` bytes, else a :class:`ResultsFormatError`.

    Opened without blocking and checked before reading, so that a FIFO named
    ``*.json`` cannot stall ingestion, nor a link to /dev/zero fill the memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ResultsFormatError(f"cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not S_ISREG(info.st_mode):
            raise ResultsFormatError("not a regular file (a FIFO, device or socket?); skipped")
        if info.st_size > limit:
            raise ResultsFormatError(f"larger than {limit // 2**20} MiB ({info.st_size} bytes); skipped")
        try:
            raw = stream.read(limit + 1)
        except OSError as exc:
            raise ResultsFormatError(f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise ResultsFormatError(f"larger than {limit // 2**20} MiB; skipped")
    return raw


def load_json_file(path: Path) -> Any:
    """The JSON in ``path``; an unreadable file is a :class:`ResultsFormatError` too."""
    return load_json_bytes(read_file_bytes(path))


def load_json_bytes(raw: bytes) -> Any:
    """The JSON in ``raw`` (asv writes NaN and Infinity, which Python accepts)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ResultsFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ResultsFormatError(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ResultsFormatError("invalid JSON: nested too deeply") from exc


@overload
def text(value: Any, what: str, max_len: int = ..., optional: Literal[False] = ...) -> str: ...
@overload
def text(value: Any, what: str, max_len: int = ..., *, optional: bool) -> str | None: ...
def text(value: Any, what: str, max_len: int = MAX_NAME, optional: bool = False) -> str | None:
    """``value`` as a string that every database can store, or a format error."""
    if type(value) is str and value.isascii() and len(value) <= max_len and "\x00" not in value:
        return value  # the common case, first
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ResultsFormatError(f"{what} should be a string, not {_kind(value)}")
    if len(value) > max_len:
        raise ResultsFormatError(f"{what} is longer than {max_len} characters")
    if "\x00" in value:
        raise ResultsFormatError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ResultsFormatError(f"{what} is not valid Unicode ({exc.reason})") from exc
    return value


def number(value: Any, what: str) -> float | None:
    """A float statistic; NaN (asv's "not available") becomes None, infinities stay."""
    if type(value) is float:  # the common case, first
        return None if value != value else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultsFormatError(f"{what} should be a number, not {_kind(value)}")
    try:
        result = float(value)
    except OverflowError as exc:
        raise ResultsFormatError(f"{what} is too large for a float: {_short(value)}") from exc
    return None if math.isnan(result) else result


def integer(value: Any, what: str) -> int | None:
    """A 64-bit integer (asv writes counts as ints; old files sometimes as floats)."""
    if type(value) is int and -INT64_MAX <= value <= INT64_MAX:  # the common case, first
        return value
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResultsFormatError(f"{what} should be an integer, not {_kind(value)}")
    if abs(value) > INT64_MAX:
        raise ResultsFormatError(f"{what} does not fit 64 bits: {_short(value)}")
    return value


def strict_json(value: Any, depth: int = 0) -> Any:
    """``value`` with non-finite floats as the strings "NaN", "inf", "-inf" (strict JSON).

    Nesting deeper than MAX_DEPTH is a format error (deeper would overflow the recursion).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (list, dict)) and depth >= MAX_DEPTH:
        raise ResultsFormatError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [strict_json(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: strict_json(item, depth + 1) for key, item in value.items()}
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ResultsFormatError(f"{what} should be an object, not {_kind(value)}")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise ResultsFormatError(f"{what} should be a list, not {_kind(value)}")
    return value


# ---------------------------------------------------------------- side files


def parse_benchmarks_json(data: Any) -> dict[str, SuiteBenchmark]:
    """The suite described by asv's benchmarks.json."""
    import hashlib

    suite = {}
    for name, info in _mapping(data, "benchmarks.json").items():
        if name == "version":
            continue
        where = f"benchmark {name!r}"
        text(name, "benchmark name")
        info = _mapping(info, where)
        param_names = [
            text(p, f"{where} param_names entry")
            for p in _list(info.get("param_names", []), f"{where} param_names")
        ]
        code = info.get("code")
        suite[name] = SuiteBenchmark(
            name=name,
            type=text(info.get("type"), f"{where} type", 32, optional=True),
            unit=text(info.get("unit"), f"{where} unit", 64, optional=True),
            param_names=param_names,
            version=text(info.get("version"), f"{where} version", MAX_VERSION, optional=True),
            source_hash=hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()
            if isinstance(code, str)
            else None,
        )
    return suite


def parse_machine_json(data: Any) -> dict[str, str | None]:
    """asv's machine.json (minimal files hold little more than the name)."""
    data = _mapping(data, "machine.json")
    fields = {key: data.get(key) for key in ("machine", "arch", "cpu", "num_cpu", "os", "ram")}
    return {
        key: None if value is None else text(str(value), f"machine.json {key}", MAX_NAME)
        for key, value in fields.items()
    }


@functools.lru_cache(maxsize=1 << 16)
def combination_key(names: tuple[str, ...], combo: tuple[str, ...]) -> str:
    """The stored key of one parameter combination (cached: suites repeat a few combinations)."""
    return params_key(dict(zip(names, combo)))


def default_type_and_unit(name: str) -> tuple[str | None, str | None]:
    """asv's benchmark type and unit implied by the name's last part (time_, mem_, ...)."""
    last = name.rsplit(".", 1)[-1]
    for prefix, type_and_unit in _TYPE_BY_PREFIX.items():
        if last.startswith(prefix):
            return type_and_unit
    return None, None


def param_names_for(name: str, count: int, suite: dict[str, SuiteBenchmark]) -> list[str]:
    """The parameter names from benchmarks.json, else asv's defaults param1, param2, ..."""
    known = suite.get(name)
    if known is not None and len(known.param_names) == count:
        return known.param_names
    return [f"param{i + 1}" for i in range(count)]


# ---------------------------------------------------------------- results files


def parse_results(
    data: Any, file_name: str, suite: dict[str, SuiteBenchmark], machine_dir: str
) -> ParsedResults:
    """Every value of one results file, with its machine, environment and commit."""
    data = _mapping(data, "results file")
    version = data.get("version", 1)
    if version not in SUPPORTED_VERSIONS:
        raise ResultsFormatError(f"unsupported results format version {_short(version)} (known: 1, 2)")
    if version == 1:
        data = upgrade_v1(data, file_name)

    params = _mapping(data.get("params", {}), "params")
    machine = params.get("machine", machine_dir)
    parsed = ParsedResults(
        machine=text(machine, "params.machine", MAX_MACHINE),
        commit_hash=text(data.get("commit_hash"), "commit_hash", MAX_COMMIT),
        date=integer(data.get("date"), "date"),
        env_name=text(data.get("env_name"), "env_name"),
        python=text(data.get("python"), "python", optional=True),
        requirements=strict_json(data.get("requirements") or {}),
        env_vars=strict_json(data.get("env_vars") or {}),
        machine_params=strict_json(params),
        durations=strict_json(data.get("durations") or {}),
    )
    if not parsed.commit_hash:
        raise ResultsFormatError("commit_hash is empty")
    columns = [
        text(c, "result_columns entry", 64) for c in _list(data.get("result_columns"), "result_columns")
    ]
    for name, row in _mapping(data.get("results"), "results").items():
        text(name, "benchmark name")
        row = _list(row, f"results of {name!r}")
        # Rows may be shorter than result_columns: asv drops trailing nulls.
        cells = dict(zip(columns, row))
        parsed.values.extend(_row_values(name, cells, suite))
    return parsed


def _row_values(name: str, cells: dict[str, Any], suite: dict[str, SuiteBenchmark]) -> list[ParsedValue]:
    where = f"benchmark {name!r}"
    param_lists = [
        [text(v, f"{where} parameter value") for v in _list(values, f"{where} params entry")]
        for values in _list(cells.get("params") or [], f"{where} params")
    ]
    names = tuple(param_names_for(name, len(param_lists), suite))
    n_combos = math.prod(len(values) for values in param_lists)
    if n_combos > MAX_COMBINATIONS:
        raise ResultsFormatError(f"{where} has {n_combos} parameter combinations (limit {MAX_COMBINATIONS})")
    all_combos = itertools.product(*param_lists)

    results = cells.get("result")
    if results is None:
        # The whole benchmark failed (e.g. in setup): every combination failed.
        results = [None] * n_combos
    elif not isinstance(results, list):
        results = [results]

    def column(key: str, convert, fast_type: type) -> list:
        values = cells.get(key)
        if values is None:
            return [None] * len(results)
        values = _list(values, f"{where} {key}")
        # Fast paths (C loops) for the usual all-float / all-int columns.
        types = set(map(type, values))
        if fast_type is float and types == {float}:
            total = sum(values)
            converted = list(values) if total == total else [None if v != v else v for v in values]
        elif fast_type is float and types == {float, type(None)}:  # a skipped cell has no statistics
            converted = [None if v is None or v != v else v for v in values]
        elif fast_type is int and types <= {int, type(None)} and _within_int64(values):
            converted = list(values)
        else:
            converted = [convert(v, f"{where} {key}") for v in values]
        return converted + [None] * (len(results) - len(values))

    ci_99_a, ci_99_b, q_25, q_75 = (
        column(f"stats_{key}", number, float) for key in ("ci_99_a", "ci_99_b", "q_25", "q_75")
    )
    numbers, repeats = (column(f"stats_{key}", integer, int) for key in ("number", "repeat"))
    samples = column("samples", _samples, list)
    n_samples = column("n_samples", integer, int)
    started_at = integer(cells.get("started_at"), f"{where} started_at")
    duration = number(cells.get("duration"), f"{where} duration")
    version = text(cells.get("version"), f"{where} version", MAX_VERSION, optional=True)

    # itertools.product order, last parameter fastest; a short result list
    # covers only the first combinations. Built column by column: this loop
    # runs for every value of every file.
    combos = list(itertools.islice(all_combos, len(results)))
    count = len(combos)
    statuses: list[str] = []
    values: list[float | None] = []
    for raw in results[:count]:
        if type(raw) is float and raw == raw:  # the common case, first
            statuses.append(STATUS_OK)
            values.append(raw)
        else:
            status, value = _status_and_value(raw, f"{where} result")
            statuses.append(status)
            values.append(value)
    parsed = list(
        map(
            ParsedValue,
            itertools.repeat(name, count),
            itertools.repeat(version, count),
            [combination_key(names, combo) for combo in combos],
            range(count),
            statuses,
            values,
            ci_99_a[:count],
            ci_99_b[:count],
            q_25[:count],
            q_75[:count],
            numbers[:count],
            repeats[:count],
            [n if s is None else len(s) for s, n in zip(samples[:count], n_samples)],
            samples[:count],
            itertools.repeat(started_at, count),
            itertools.repeat(duration, count),
        )
    )
    if len(set(combos)) < count:
        # A repeated combination keeps the last value, as asv's own reader does.
        parsed = list({value.params_key: value for value in parsed}.values())
    return parsed


def _within_int64(values: list) -> bool:
    present = [v for v in values if v is not None]
    return not present or (min(present) >= -INT64_MAX and max(present) <= INT64_MAX)


def _status_and_value(raw: Any, what: str) -> tuple[str, float | None]:
    # asv: null = failed, NaN = skipped; infinities are real (if odd) values.
    if raw is None:
        return STATUS_FAILED, None
    value = number(raw, what)
    if value is None:
        return STATUS_SKIPPED, None
    return STATUS_OK, value


def _samples(value: Any, what: str) -> list | None:
    if value is None:
        return None
    value = _list(value, what)
    if all(type(v) is float for v in value):
        total = sum(value)
        if total - total == 0:  # finite sum: every sample finite, nothing to convert
            return value
    return strict_json([_sample(v, what) for v in value])


def _sample(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResultsFormatError(f"{what} should hold numbers, not {_kind(value)}")
    try:
        return float(value)
    except OverflowError as exc:
        raise ResultsFormatError(f"{what} holds a number too large for a float") from exc


def upgrade_v1(data: dict, file_name: str) -> dict:
    """A format-1 results file in format 2's shape (asv's ``Results.update_to_2``).

    Differences from asv: the env name defaults to the file name's (asv
    recomputes it), and old stats' ``n`` (sample count) is kept as ``n_samples``.
    """
    results, started_at = data.get("results"), data.get("started_at") or {}
    duration, versions = data.get("duration") or {}, data.get("benchmark_version") or {}
    results = _mapping(results, "results")
    for what, value in (("started_at", started_at), ("duration", duration), ("benchmark_version", versions)):
        _mapping(value, what)

    def stat(stats: Any, getter) -> list | None:
        if stats is None:
            return None
        return [None if s is None else getter(_mapping(s, "stats entry")) for s in stats]

    def ci(s: dict, i: int) -> Any:
        bounds = s.get("ci_99")
        if bounds is None:
            return None
        bounds = _list(bounds, "stats ci_99")
        return bounds[i] if len(bounds) == 2 else None

    rows = {}
    for name, value in results.items():
        if not isinstance(value, dict):  # bare-number result
            value = {"result": [value], "params": []}
        result = value.get("result")
        if result is not None and not isinstance(result, list):
            result = [result]
        stats = value.get("stats")
        if stats is not None and not isinstance(stats, list):
            stats = [stats]
        rows[name] = [
            result,
            value.get("params") or [],
            versions.get(name),
            started_at.get(name),
            duration.get(name),
            stat(stats, lambda s: ci(s, 0)),
            stat(stats, lambda s: ci(s, 1)),
            stat(stats, lambda s: s.get("q_25")),
            stat(stats, lambda s: s.get("q_75")),
            stat(stats, lambda s: s.get("number")),
            stat(stats, lambda s: s.get("repeat")),
            value.get("samples"),
            stat(stats, lambda s: s.get("n")),
        ]
    env_name = data.get("env_name")
    if env_name is None:
        # asv named format-1 files "<commit[:8]>-<env name>.json".
        stem = file_name[: -len(".json")] if file_name.endswith(".json") else file_name
        env_name = stem.split("-", 1)[1] if "-" in stem else stem
    return {
        **data,
        "env_name": env_name,
        "result_columns": [
            "result",
            "params",
            "version",
            "started_at",
            "duration",
            "stats_ci_99_a",
            "stats_ci_99_b",
            "stats_q_25",
            "stats_q_75",
            "stats_number",
            "stats_repeat",
            "samples",
            "n_samples",
        ],
        "results": rows,
        "durations": {k: v for k, v in duration.items() if isinstance(k, str) and k.startswith("<")},
    }
