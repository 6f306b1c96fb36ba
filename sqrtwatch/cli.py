"""The ``sqrtwatch`` command line: parses arguments and calls the layers.

Heavy imports (torch, asv, streamlit, SQLAlchemy) stay inside the commands so
that ``sqrtwatch --help`` is instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_DB_URL = "sqlite:///sqrtwatch.db"
DEFAULT_RESULTS_DIR = ".sqrtwatch/results"

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
    from sqrtwatch.db.schema.engine import DatabaseError, connect

    try:
        return connect(db_url)
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
def run(
    quick: bool,
    results_dir: Path,
    bench: tuple[str, ...],
    torch_versions: tuple[str, ...],
    machine: str | None,
    commits: tuple[str, ...],
) -> None:
    """Run the asv suites on this machine and record their context."""
    from sqrtwatch.runner import RunError, run_suites

    try:
        run_suites(
            results_dir=results_dir,
            quick=quick,
            bench=list(bench),
            torch_versions=list(torch_versions),
            machine=machine,
            commits=list(commits),
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

    engine = _open_engine(db_url)
    try:
        export_values(engine, sys.stdout, fmt=fmt, benchmark=benchmark, machine=machine)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@db_option
@click.option(
    "--full", is_flag=True, help="Re-analyse every environment, also those unchanged since the last pass."
)
def detect(db_url: str, full: bool) -> None:
    """Update the alerts table from the stored history."""
    from sqrtwatch.db.detection.detect import detect_alerts

    engine = _open_engine(db_url)
    summary = detect_alerts(engine, full=full)
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
    from sqrtwatch.db.detection.alerts import format_alerts, list_alerts

    engine = _open_engine(db_url)
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
def compare(
    base: str, head: str, db_url: str, fmt: str, fail_on_regression: bool, factor: float, noise_k: float
) -> None:
    """Compare two commits, torch versions, environments or machines.

    BASE and HEAD: commit:HASH (or a bare hash prefix), torch:VERSION, env:NAME,
    machine:NAME, comma-joined to combine (see docs/detection.md).
    """
    from sqrtwatch.db.comparison.compare import CompareError, compare_selections, format_comparison

    engine = _open_engine(db_url)
    try:
        comparison = compare_selections(engine, base, head, factor=factor, noise_k=noise_k)
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
    type=click.Choice(["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]),
    help="Dtype to check (repeatable; default: all).",
)
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda", "mps"]))
@click.option("--mode", type=click.Choice(["exhaustive", "sample"]), default="exhaustive", show_default=True)
@click.option("--samples", type=click.IntRange(min=1), default=1 << 20, show_default=True)
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
@db_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--read-only/--read-write", default=None, help="Disable triage actions (default: read-write).")
def dashboard(db_url: str, port: int, read_only: bool | None) -> None:
    """Serve the Streamlit dashboard on the database."""
    from sqrtwatch.dashboard.serve import serve

    _open_engine(db_url)  # fail early, with a clear message, on a bad URL
    serve(db_url=db_url, port=port, read_only=read_only)
