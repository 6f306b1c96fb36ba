"""The dashboard's data access: cached wrappers around :mod:`sqrtwatch.db.queries`.

The engine is one per server (``st.cache_resource``). Query results are cached
with ``st.cache_data`` under a :class:`Source`: the database URL plus markers of
its last ingest and last alert change, so that a new ingest or a triage action
is visible on the next rerun while every other rerun is served from memory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from sqrtwatch.db import queries
from sqrtwatch.db.schema.engine import DatabaseError, connect, connect_read_only

from .serve import DB_ENV_VAR, read_only_from_env

DEFAULT_DB_URL = "sqlite:///sqrtwatch.db"


class Source(NamedTuple):
    """What a cached query depends on: the database and its data versions."""

    url: str
    results: str
    alerts: str


@dataclass(frozen=True)
class DatabaseHealth:
    """Whether the database opened and holds anything to show."""

    display_url: str
    error: str | None = None
    runs: int = 0

    @property
    def ready(self) -> bool:
        return self.error is None and self.runs > 0


def database_url() -> str:
    """The database the server was started on (SQRTWATCH_DB), else the CLI's default."""
    return os.environ.get(DB_ENV_VAR) or DEFAULT_DB_URL


def read_only() -> bool:
    """Whether triage actions are disabled (SQRTWATCH_READ_ONLY)."""
    return read_only_from_env()


def _display_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given; connect() explains the problem
        return url


def engine(url: str) -> Engine:
    """The server's engine on ``url``; a read-only server's never writes to the database."""
    return _engine(url, read_only())


@st.cache_resource(show_spinner=False)
def _engine(url: str, read_only: bool) -> Engine:
    """One engine per database URL and mode for the whole server."""
    return connect_read_only(url) if read_only else connect(url, create=False)


def database_health(url: str) -> DatabaseHealth:
    """Open the database and count its runs, turning every failure into a message."""
    try:
        with Session(engine(url)) as session:
            return DatabaseHealth(_display_url(url), runs=queries.count_runs(session))
    except DatabaseError as error:
        return DatabaseHealth(_display_url(url), error=str(error))
    except Exception as error:
        return DatabaseHealth(_display_url(url), error=f"{type(error).__name__}: {error}")


def source() -> Source:
    """The current database and its data versions (one cheap query per rerun)."""
    url = database_url()
    with Session(engine(url)) as session:
        version = queries.data_version(session)
    return Source(url, version.results, version.alerts)


def _read(src: Source, query, *args, **kwargs):
    with Session(engine(src.url)) as session:
        return query(session, *args, **kwargs)


def _with_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Commit dates and run times (ms since the epoch, as asv writes them) as UTC timestamps."""
    for column in ("commit_date", "run_time"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


def parse_params(texts: pd.Series) -> pd.Series:
    """Parameter dicts from canonical JSON texts, parsing each distinct text once."""
    parsed = {text: json.loads(text) for text in texts.unique()}
    return texts.map(parsed)


@st.cache_data(show_spinner=False, max_entries=8)
def runs(src: Source) -> pd.DataFrame:
    """Every run with machine, environment, commit (date as timestamp) and torch build."""
    return _with_dates(_read(src, queries.runs))


@st.cache_data(show_spinner=False, max_entries=8)
def suite(src: Source) -> pd.DataFrame:
    """Stored benchmark names with unit and parameter names (small: one row per benchmark)."""
    return _read(src, queries.suite)


@st.cache_data(show_spinner=False, max_entries=8)
def catalog(src: Source) -> pd.DataFrame:
    """Stored (benchmark, unit, params) combinations with their parsed parameters."""
    frame = _read(src, queries.benchmark_params)
    frame["param_dict"] = parse_params(frame["params"])
    frame["param_names"] = [list(params) for params in frame["param_dict"]]
    return frame


@st.cache_data(show_spinner=False, max_entries=64)
def values(
    src: Source,
    benchmarks: tuple[str, ...],
    params: tuple[str, ...] | None = None,
    machine: str | None = None,
    run_ids: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """Values of ``benchmarks`` with their runs, narrowed to ``params`` / ``machine`` / ``run_ids``."""
    frame = _with_dates(
        _read(src, queries.values, benchmarks, params=params, machine=machine, run_ids=run_ids)
    )
    frame["param_dict"] = parse_params(frame["params"]) if not frame.empty else pd.Series(dtype=object)
    return frame


@st.cache_data(show_spinner=False, max_entries=16)
def run_contexts(src: Source, run_ids: tuple[int, ...]) -> pd.DataFrame:
    """The stored context of each of ``run_ids`` (run_id, context)."""
    return _read(src, queries.run_contexts, run_ids)


@st.cache_data(show_spinner=False, max_entries=8)
def accuracy(src: Source) -> pd.DataFrame:
    """Every accuracy report with its run."""
    return _with_dates(_read(src, queries.accuracy_results))


@st.cache_data(show_spinner=False, max_entries=16)
def alerts(src: Source, status: str = "all") -> pd.DataFrame:
    """Alerts with their triage state (``src.alerts`` keys the cache)."""
    return _read(src, queries.alerts, status)


@st.cache_data(show_spinner=False, max_entries=16)
def comparison(src: Source, base: str, head: str) -> tuple[str, pd.DataFrame, str | None]:
    """``sqrtwatch compare BASE HEAD``: summary line, one row per benchmark cell, and the error if any.

    A selection that matches nothing is an answer too, so it is returned (and cached),
    not raised.
    """
    from sqrtwatch.db.comparison.compare import CompareError, compare_selections
    from sqrtwatch.render import summary_line

    try:
        result = compare_selections(engine(src.url), base, head)
    except CompareError as error:
        return "", pd.DataFrame(columns=list(COMPARE_COLUMNS)), str(error)
    rows = pd.DataFrame([vars(row) for row in result.rows], columns=list(COMPARE_COLUMNS))
    return summary_line(result), rows, None


COMPARE_COLUMNS = (
    "mark",
    "ratio",
    "benchmark",
    "params",
    "machine",
    "env_name",
    "unit",
    "base",
    "head",
    "p_value",
    "test",
    "noise",
    "threshold",
)
