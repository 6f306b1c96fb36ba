"""Read queries for the dashboard and reports: plain arguments in, pandas DataFrames out.

The caller owns the session. Dates stay as asv writes them (ms since the epoch);
``params`` stays canonical JSON text (see :func:`sqrtwatch.db.schema.models.params_key`),
so callers parse each distinct combination once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .schema.models import (
    STATUS_OK,
    AccuracyResult,
    Alert,
    Benchmark,
    Environment,
    IngestedFile,
    Machine,
    ResultValue,
    Revision,
    Run,
)

# When a run measured (ms since the epoch): its measured_at, else (files that
# record no started_at) its commit's date. Runs are ordered by it, then by id.
RUN_TIME = case((Run.measured_at > 0, Run.measured_at), else_=func.coalesce(Revision.date, 0))

RUN_COLUMNS = (
    Run.id.label("run_id"),
    Machine.name.label("machine"),
    Environment.name.label("env_name"),
    Revision.commit_hash,
    Revision.date.label("commit_date"),
    Run.torch_version,
    Run.build_variant,
    Run.cpu_isa,
    Run.threads,
    RUN_TIME.label("run_time"),
    Run.hardware,
)

VALUE_COLUMNS = (
    Benchmark.name.label("benchmark"),
    Benchmark.unit,
    ResultValue.params,
    ResultValue.param_index,
    ResultValue.status,
    ResultValue.value,
    ResultValue.ci_99_a,
    ResultValue.ci_99_b,
    ResultValue.q_25,
    ResultValue.q_75,
    ResultValue.n_samples,
)


@dataclass(frozen=True)
class DataVersion:
    """Markers that change whenever results are ingested or alerts change (cache keys)."""

    results: str
    alerts: str


def _frame(session: Session, statement, columns: Sequence[str] | None = None) -> pd.DataFrame:
    result = session.execute(statement)
    return pd.DataFrame.from_records(list(result), columns=list(columns or result.keys()))


def _join_runs(statement):
    return (
        statement.join(Machine, Machine.id == Run.machine_id)
        .join(Environment, Environment.id == Run.environment_id)
        .join(Revision, Revision.id == Run.revision_id)
    )


def data_version(session: Session) -> DataVersion:
    """Cheap markers of the last ingest and the last alert change."""
    runs = session.execute(
        select(func.count(Run.id), func.max(Run.id), func.max(IngestedFile.ingested_at))
        .select_from(Run)
        .outerjoin(IngestedFile, IngestedFile.run_id == Run.id)
    ).one()
    alerts = session.execute(
        select(
            func.count(Alert.id),
            func.max(Alert.id),
            func.max(Alert.detected_at),
            func.max(Alert.triaged_at),
            func.max(Alert.resolved_at),
        )
    ).one()
    return DataVersion(results="/".join(map(str, runs)), alerts="/".join(map(str, alerts)))


def count_runs(session: Session) -> int:
    """How many runs (asv results files) the database holds."""
    return session.scalar(select(func.count(Run.id))) or 0


def runs(session: Session) -> pd.DataFrame:
    """Every run with its machine, hardware, environment, commit, torch build and run time, oldest first."""
    statement = _join_runs(select(*RUN_COLUMNS, Run.profile, Run.ingested_at).select_from(Run)).order_by(
        RUN_TIME, Run.id
    )
    return _frame(session, statement)


def suite(session: Session) -> pd.DataFrame:
    """Every stored benchmark name with the unit and parameter names of its newest version."""
    frame = _frame(
        session,
        select(Benchmark.name.label("benchmark"), Benchmark.unit, Benchmark.param_names).order_by(
            Benchmark.name, Benchmark.id
        ),
    )
    frame["param_names"] = [list(names or []) for names in frame["param_names"]]
    return frame.drop_duplicates("benchmark", keep="last").reset_index(drop=True)


def benchmark_params(session: Session) -> pd.DataFrame:
    """Each (benchmark, unit, params) combination ever stored, with what the newest runs say of it.

    ``param_index`` (asv's position of the combination) and ``ok_latest`` (an ok value)
    come from the newest run of each machine and environment; combinations those runs
    lack get NaN and False. The distinct combinations come from the natural-key index
    alone, and the newest runs are read by their key prefix, so this stays fast on
    millions of values.
    """
    combinations = select(ResultValue.benchmark_id, ResultValue.params).distinct().subquery()
    catalog = _frame(
        session,
        select(
            Benchmark.id.label("benchmark_id"),
            Benchmark.name.label("benchmark"),
            Benchmark.unit,
            combinations.c.params,
        )
        .join(combinations, combinations.c.benchmark_id == Benchmark.id)
        .order_by(Benchmark.name, combinations.c.params),
    )
    newest = _frame(
        session,
        select(
            ResultValue.benchmark_id, ResultValue.params, ResultValue.param_index, ResultValue.status
        ).where(ResultValue.run_id.in_(newest_run_ids(session))),
    )
    latest = newest.assign(ok_latest=newest["status"] == STATUS_OK).groupby(
        ["benchmark_id", "params"], as_index=False
    )
    latest = latest.agg(param_index=("param_index", "min"), ok_latest=("ok_latest", "any"))
    merged = catalog.merge(latest, on=["benchmark_id", "params"], how="left")
    merged["ok_latest"] = merged["ok_latest"].fillna(False).astype(bool)
    return merged.drop(columns="benchmark_id")


def newest_run_ids(session: Session) -> list[int]:
    """The newest run (by run time, then id) of each machine and environment."""
    ordered = _join_runs(select(Run.id, Run.machine_id, Run.environment_id).select_from(Run)).order_by(
        RUN_TIME, Run.id
    )
    frame = _frame(session, ordered)
    return [int(run_id) for run_id in frame.groupby(["machine_id", "environment_id"])["id"].last()]


def values(
    session: Session,
    benchmarks: Sequence[str],
    params: Sequence[str] | None = None,
    machine: str | None = None,
    run_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Stored values of the named benchmarks (every version), one row per value with its run.

    ``params`` (canonical JSON texts), ``machine`` and ``run_ids`` narrow the selection.
    """
    statement = _join_runs(
        select(*RUN_COLUMNS, *VALUE_COLUMNS)
        .select_from(ResultValue)
        .join(Benchmark, Benchmark.id == ResultValue.benchmark_id)
        .join(Run, Run.id == ResultValue.run_id)
    ).where(Benchmark.name.in_(list(benchmarks)))
    if params is not None:
        statement = statement.where(ResultValue.params.in_(list(params)))
    if machine is not None:
        statement = statement.where(Machine.name == machine)
    if run_ids is not None:
        statement = statement.where(Run.id.in_(list(run_ids)))
    return _frame(session, statement.order_by(RUN_TIME, Run.id))


def series(session: Session, benchmark: str, params: str, machine: str | None = None) -> pd.DataFrame:
    """One benchmark at one parameter combination over every run (oldest run first)."""
    return values(session, [benchmark], params=[params], machine=machine)


def run_contexts(session: Session, run_ids: Sequence[int]) -> pd.DataFrame:
    """run_id and context (the run's sqrtwatch context as stored, or None) of the given runs."""
    statement = select(Run.id.label("run_id"), Run.context).where(Run.id.in_(list(run_ids)))
    return _frame(session, statement.order_by(Run.id), ["run_id", "context"])


def accuracy_results(session: Session) -> pd.DataFrame:
    """Every stored accuracy report with its run, oldest run first."""
    statement = _join_runs(
        select(
            *RUN_COLUMNS[:5],
            AccuracyResult.torch_version,
            Run.cpu_isa,
            AccuracyResult.impl,
            AccuracyResult.dtype,
            AccuracyResult.device,
            AccuracyResult.mode,
            AccuracyResult.inputs_tested,
            AccuracyResult.mismatches,
            AccuracyResult.mismatch_fraction,
            AccuracyResult.max_ulp,
            AccuracyResult.mean_ulp,
            AccuracyResult.worst_input_bits,
            AccuracyResult.special_tested,
            AccuracyResult.special_failed,
            AccuracyResult.detail,
        )
        .select_from(AccuracyResult)
        .join(Run, Run.id == AccuracyResult.run_id)
    ).order_by(RUN_TIME, Run.id)
    return _frame(session, statement)


def alerts(session: Session, status: str = "all") -> pd.DataFrame:
    """Alerts with their triage state, newest first; ``status`` is active/acknowledged/dismissed/all.

    As in :func:`sqrtwatch.db.detection.alerts.list_alerts`, ``active`` leaves out resolved alerts.
    """
    statement = select(Alert.__table__).order_by(Alert.detected_at.desc(), Alert.id.desc())
    if status != "all":
        statement = statement.where(Alert.status == status)
    if status == "active":
        statement = statement.where(Alert.resolved.is_(False))
    return _frame(session, statement)


def upgrades(session: Session) -> pd.DataFrame:
    """The upgrade view: per machine, hardware and cell, the newest value of each torch version in release order.

    See :func:`sqrtwatch.db.detection.upgrades.upgrade_view` for the columns.
    """
    from .detection.upgrades import upgrade_view

    return upgrade_view(session)


def alert_causes(session: Session, status: str = "all") -> pd.DataFrame:
    """Alerts as :func:`alerts` gives them, plus ``cause_text``: their cause in one line."""
    from .detection.causes import describe

    frame = alerts(session, status)
    frame["cause_text"] = [describe(cause) for cause in frame["cause"]] if len(frame) else []
    return frame
