"""Keep a copy of every run's results and context file: asv overwrites its results file.

asv writes ``<machine>/<commit>-<env>.json`` and replaces it on the next run of the
same commit and environment. ``sqrtwatch run`` copies each file it leaves, with its
context file, to ``<results>/sqrtwatch-archive/`` under a name made unique by its
content, so that a database can be rebuilt from the files alone. That folder has no
``machine.json``: asv skips it (``asv publish`` and ``asv compare`` see only its own
files); ``sqrtwatch ingest`` reads it (docs/history.md).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sqrtwatch.context import CONTEXT_DIR_NAME, context_path

ARCHIVE_DIR_NAME = "sqrtwatch-archive"
# Hex digits of the content hash in an archived file's name.
NAME_HASH_DIGITS = 16


def archive_dir(results_dir: Path) -> Path:
    """The archive of a results directory; it mirrors asv's layout (``<machine>/``, context folder)."""
    return results_dir / ARCHIVE_DIR_NAME


def archive_run(results_dir: Path, machine: str, results_file_stem: str) -> Path | None:
    """Copy one results file and its context file into the archive; returns the copy (None: no file).

    The copy's name carries the results file's content hash, so archiving the same
    run twice writes nothing new and a rewritten results file gets a new name.
    """
    results_file = results_dir / machine / f"{results_file_stem}.json"
    if not results_file.is_file():
        return None
    digest = hashlib.sha256(results_file.read_bytes()).hexdigest()[:NAME_HASH_DIGITS]
    stem = f"{results_file_stem}-{digest}"
    target_dir = archive_dir(results_dir)
    target = target_dir / machine / f"{stem}.json"
    context = context_path(results_dir, machine, results_file_stem)
    if context.is_file():
        _copy(context, target_dir / CONTEXT_DIR_NAME / machine / f"{stem}.json")
    _copy(results_file, target)
    return target


def _copy(source: Path, target: Path) -> None:
    """Copy atomically (no half-written file in the archive), keeping the modification time."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".json.tmp")
    shutil.copy2(source, tmp)
    tmp.replace(target)
