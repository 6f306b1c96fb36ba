"""``sqrtwatch accuracy``: run the engine per dtype and print JSON or a table."""

from __future__ import annotations

import json

import click

from sqrtwatch.accuracy.formats import ALL_DTYPES


def run_accuracy_command(
    impl: str, dtypes: list[str], device: str, mode: str, samples: int, fmt: str, consistency: bool = False
) -> None:
    """Check ``impl`` on each of ``dtypes`` (all six when empty) and print the reports."""
    from sqrtwatch.accuracy.engine import AccuracyError, check_accuracy
    from sqrtwatch.accuracy.report import format_text
    from sqrtwatch.impls import ImplError, load_impl

    try:
        load_impl(impl)
    except ImplError as exc:
        raise click.ClickException(f"--impl: {exc}") from exc
    reports = []
    for dtype in dtypes or ALL_DTYPES:
        try:
            reports.append(check_accuracy(impl, dtype, device, mode, samples, consistency=consistency))
        except (AccuracyError, ImplError) as exc:
            raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(reports, indent=2, allow_nan=False))
    else:
        click.echo(format_text(reports))
