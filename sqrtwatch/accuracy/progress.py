"""A progress bar on standard error, shown only for long sweeps on a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager

# Sweeps with fewer chunks than this finish before a bar would be worth drawing.
MIN_CHUNKS_FOR_PROGRESS = 8


@contextmanager
def chunk_progress(total: int, description: str):
    """Yield an ``advance()`` callable; draws a rich bar when it helps, else does nothing."""
    if total < MIN_CHUNKS_FOR_PROGRESS or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)
