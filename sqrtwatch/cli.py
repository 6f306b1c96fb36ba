"""The ``sqrtwatch`` command line: parses arguments and calls the layers.

Heavy imports (torch, asv, streamlit, SQLAlchemy) stay inside the commands so
that ``sqrtwatch --help`` is instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sqrtwatch.vocabulary import DEVICES, DTYPES

DEFAULT_DB_URL = "sqlite:///sqrtwatch.db"
DEFAULT_RESULTS_DIR = ".sqrtwatch/results"
# Largest --samples: the sample is drawn at once, ~56 bytes per float64 input (~2 GiB here).
MAX_SAMPLES = 1 << 25

db_option = click.option(
    "--db",
    "db_url",
    envvar="SQRTWATCH_DB",
    default=DEFAULT_DB_URL,
    show_default=True,
    show_envvar=True,
    help="SQLAlchemy database URL (SQLite file or postgresql+psycopg://...).",
)


def _open_engine(db_url: str):
    """An engine for a writing command: creates the database, or upgrades its schema, as needed."""
    from sqrtwatch.db.schema.engine import DatabaseError, connect

    try:
        return connect(db_url)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


def _open_for_reading(db_url: str):
    """An engine for a reading command: the database must exist at this sqrtwatch's schema; nothing is written."""
    from sqrtwatch.db.schema.engine import DatabaseError, connect_read_only

    try:
        return connect_read_only(db_url)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sqrtwatch")
def main() -> None:
    """Track the speed and the correct rounding of torch.sqrt over time."""


@main.command()
@click.option("--quick", is_flag=True, help="Reduced grid for CI and the demo (a few minutes).")
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS_DIR,
    show_default=True,
    help="asv results directory to write into.",
)
@click.option("--bench", "bench", multiple=True, help="Regex of benchmarks to run (repeatable).")
@click.option(
    "--torch",
    "torch_versions",
    multiple=True,
    help="Run in an asv environment per torch version instead of this Python (repeatable; "
    "'all': every version in asv.conf.json).",
)
@click.option(
    "--machine",
    envvar="SQRTWATCH_MACHINE",
    show_envvar=True,
    help="asv machine name to record under (default: the host name; CI passes a stable one).",
)
@click.option(
    "--commit",
    "commits",
    multiple=True,
    help="With --torch: commit of this repository to measure (repeatable, rounds interleaved; default HEAD).",
)
@click.option(
    "--workload",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Benchmark exactly the calls of a workload file from `sqrtwatch trace --format json`.",
)
@click.option(
    "--require-device",
    "required_devices",
    multiple=True,
    type=click.Choice(["cpu", "cuda", "mps"]),
    help="Fail before running unless this device is usable here (repeatable; CI's GPU and MPS runners).",
)
def run(
    quick: bool,
    results_dir: Path,
    bench: tuple[str, ...],
    torch_versions: tuple[str, ...],
    machine: str | None,
    commits: tuple[str, ...],
    workload: Path | None,
    required_devices: tuple[str, ...],
) -> None:
    """Run the asv suites on this machine and record their context.

    Exits 1 when a benchmark cell failed, after writing every other result and context file.
    """
    from sqrtwatch.runner import RunError, run_suites

    try:
        run_suites(
            results_dir=results_dir,
            quick=quick,
            bench=list(bench),
            torch_versions=list(torch_versions),
            machine=machine,
            commits=list(commits),
            workload=workload,
            required_devices=list(required_devices),
        )
    except RunError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
def ingest(results_dir: Path, db_url: str) -> None:
    """Load an asv results directory (and sqrtwatch context files) into the database."""
    from sqrtwatch.db.ingest.directory import ingest_results_dir

    engine = _open_engine(db_url)
    report = ingest_results_dir(engine, results_dir, progress=sys.stderr.isatty())
    click.echo(report.summary())
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        sys.exit(1)


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--benchmark", "benchmark", help="Regex on the full benchmark name.")
@click.option("--machine", "machine", help="Machine name.")
def export(db_url: str, fmt: str, benchmark: str | None, machine: str | None) -> None:
    """Write every stored result value to standard output."""
    from sqrtwatch.db.export import ExportError, export_values

    engine = _open_for_reading(db_url)
    try:
        export_values(engine, sys.stdout, fmt=fmt, benchmark=benchmark, machine=machine)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@db_option
@click.option(
    "--full",
    is_flag=True,
    help="Re-analyse every environment whole, also those unchanged or only grown since the last pass.",
)
def detect(db_url: str, full: bool) -> None:
    """Update the alerts table from the stored history."""
    from sqrtwatch.asv_config import ConfigError, load_thresholds
    from sqrtwatch.db.detection.detect import detect_alerts

    try:
        thresholds = load_thresholds()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _open_engine(db_url)
    summary = detect_alerts(engine, thresholds=thresholds, full=full)
    click.echo(summary.summary())


@main.command()
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "markdown", "text"]), default="text", show_default=True
)
@click.option(
    "--status",
    type=click.Choice(["active", "acknowledged", "dismissed", "all"]),
    default="active",
    show_default=True,
)
def alerts(db_url: str, fmt: str, status: str) -> None:
    """List regression and improvement alerts."""
    from sqrtwatch.db.detection.alerts import list_alerts
    from sqrtwatch.render import format_alerts

    engine = _open_for_reading(db_url)
    click.echo(format_alerts(list_alerts(engine, status=status), fmt))


@main.command()
@click.argument("base")
@click.argument("head")
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "json", "text"]), default="text", show_default=True
)
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 on a significant regression.")
@click.option(
    "--factor",
    type=click.FloatRange(min=1.0),
    default=1.10,
    show_default=True,
    help="Smallest slowdown (head/base) that counts as regressed or improved.",
)
@click.option(
    "--noise-k",
    type=click.FloatRange(min=0.0),
    default=4.0,
    show_default=True,
    help="A timing change must also exceed K times its series' run-to-run noise (0: off).",
)
@click.option(
    "--noise-db",
    "noise_db_url",
    help="Another database whose history gives the run-to-run noise this one lacks (the PR check's).",
)
@click.option(
    "--noise-machine",
    help="With --noise-db: the machine name the series have there (default: the compared runs').",
)
def compare(
    base: str,
    head: str,
    db_url: str,
    fmt: str,
    fail_on_regression: bool,
    factor: float,
    noise_k: float,
    noise_db_url: str | None,
    noise_machine: str | None,
) -> None:
    """Compare two commits, torch versions, environments or machines.

    BASE and HEAD: commit:HASH (or a bare hash prefix), torch:VERSION, env:NAME,
    machine:NAME, comma-joined to combine (see docs/detection.md).
    """
    from sqrtwatch.db.comparison.compare import CompareError, compare_selections
    from sqrtwatch.render import format_comparison

    engine = _open_for_reading(db_url)
    noise_engine = None if noise_db_url is None else _open_for_reading(noise_db_url)
    try:
        comparison = compare_selections(
            engine,
            base,
            head,
            factor=factor,
            noise_k=noise_k,
            noise_engine=noise_engine,
            noise_machine=noise_machine,
        )
    except CompareError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_comparison(comparison, fmt))
    if fail_on_regression and comparison.has_significant_regression():
        sys.exit(1)


@main.command()
@click.option("--impl", default="torch.sqrt", show_default=True, help="torch.sqrt or MODULE:FUNC.")
@click.option(
    "--dtype",
    "dtypes",
    multiple=True,
    type=click.Choice(DTYPES),
    help="Dtype to check (repeatable; default: all).",
)
@click.option("--device", default="cpu", show_default=True, type=click.Choice(DEVICES))
@click.option("--mode", type=click.Choice(["exhaustive", "sample"]), default="exhaustive", show_default=True)
@click.option(
    "--samples",
    type=click.IntRange(min=1, max=MAX_SAMPLES),
    default=1 << 20,
    show_default=True,
    help="Inputs drawn per dtype in sample mode (all are held in memory at once).",
)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option(
    "--consistency",
    is_flag=True,
    help="Also count bitwise differences: eager vs torch.compile, strided, 1 thread, fresh process.",
)
@click.option(
    "--by-binade",
    is_flag=True,
    help="Also show the precision picture per input binade: rounding of inputs, sqrt error, mismatches.",
)
def accuracy(
    impl: str,
    dtypes: tuple[str, ...],
    device: str,
    mode: str,
    samples: int,
    fmt: str,
    consistency: bool,
    by_binade: bool,
) -> None:
    """Check sqrt bit for bit against the correctly rounded result."""
    from sqrtwatch.accuracy.report import run_accuracy_command

    run_accuracy_command(
        impl=impl,
        dtypes=list(dtypes),
        device=device,
        mode=mode,
        samples=samples,
        fmt=fmt,
        consistency=consistency,
        by_binade=by_binade,
    )


@main.command()
@click.argument("target", metavar="MODULE:FUNC")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Untraced calls first, so one-time setup (model build, optimizer state) stays out.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE (the workload file with --format json) instead of standard output.",
)
def trace(target: str, fmt: str, warmup: int, output: Path | None) -> None:
    """Run MODULE:FUNC once and report its operator calls that compute a square root."""
    from sqrtwatch.models.trace_command import run_trace

    run_trace(target, fmt, warmup, output)


@main.command()
@db_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--read-only/--read-write", default=None, help="Disable triage actions (default: read-write).")
def dashboard(db_url: str, port: int, read_only: bool | None) -> None:
    """Serve the Streamlit dashboard on the database."""
    from sqrtwatch.dashboard.serve import read_only_from_env, serve
    from sqrtwatch.db.schema.engine import DatabaseError, connect

    if read_only is None:
        read_only = read_only_from_env()
    # Fail early, with a clear message, on a bad URL or a missing database.
    if read_only:
        _open_for_reading(db_url).dispose()
    else:
        try:
            connect(db_url, create=False).dispose()
        except DatabaseError as exc:
            raise click.ClickException(str(exc)) from exc
    serve(db_url=db_url, port=port, read_only=read_only)


@main.command()
@db_option
def migrate(db_url: str) -> None:
    """Create the database, or upgrade its schema to this sqrtwatch's (reading commands never do)."""
    from sqrtwatch.db.schema.engine import schema_state

    engine = _open_engine(db_url)
    with engine.connect() as connection:
        _, revision = schema_state(connection)
    engine.dispose()
    click.echo(f"database schema at revision {revision}")
