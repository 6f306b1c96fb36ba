"""``sqrtwatch trace MODULE:FUNC``: load the callable, trace one call, print or write the report."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import click


def load_target(spec: str):
    """The callable named ``MODULE:FUNC`` (``FUNC`` may be dotted); ``click.UsageError`` if malformed."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise click.UsageError(
            f"{spec!r}: expected MODULE:FUNC, e.g. sqrtwatch.examples.transformer_step:step"
        )
    try:
        target = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.ClickException(f"{spec}: cannot import {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise click.ClickException(f"{spec}: module {module_name!r} has no attribute {attr!r}") from exc
    if not callable(target):
        raise click.ClickException(f"{spec}: not callable")
    return target


def run_trace(spec: str, fmt: str, warmup: int, output: Path | None) -> None:
    """Trace ``spec`` once (after ``warmup`` untraced calls) and emit the report as ``fmt``."""
    from .tracer import format_text, trace_callable

    fn = load_target(spec)
    try:
        trace = trace_callable(fn, target=spec, warmup=warmup)
    except Exception as exc:  # the user's step failed: say so in one line, no traceback
        raise click.ClickException(f"{spec} raised {type(exc).__name__}: {exc}") from exc
    text = json.dumps(trace.to_json(), indent=2) + "\n" if fmt == "json" else format_text(trace) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}: {len(trace.entries)} sqrt-computing call groups", err=True)
