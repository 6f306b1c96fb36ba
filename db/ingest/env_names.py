"""The environment name results are stored (and their series keyed) under.

asv names an ``existing`` environment (``sqrtwatch run`` without ``--torch``)
after the interpreter's path, ``existing-py_work_main_.venv_bin_python3``, so
the same machine would get a new environment, and new series, per checkout
path. Such results are stored under a name made from the interpreter's Python
version instead: ``existing-py3.11`` (major.minor from the run's context file),
built as asv builds its names. The torch inside is not part of the name: an
upgrade of the torch of an environment goes on in the same series, as an event
on it (each run keeps its own torch version). Other environments (asv
virtualenvs, whose names carry the torch version a matrix pins) keep asv's
name; the results files themselves are never renamed.
"""

from __future__ import annotations

import re
from typing import Any

EXISTING_TOOL = "existing"


def stored_env_name(asv_env_name: str, asv_python: str | None, context: dict[str, Any] | None) -> str:
    """The name to store a run of asv environment ``asv_env_name`` under.

    ``asv_python``: the results file's ``python`` (for an existing environment, the
    interpreter path); ``context``: the run's context file as read. Without a
    context naming the Python version, asv's name is kept.
    """
    path_prefix = _existing_name_prefix(asv_python)
    if path_prefix is None or not (asv_env_name == path_prefix or asv_env_name.startswith(path_prefix + "-")):
        return asv_env_name
    python = _python(context)
    if python is None:
        return asv_env_name
    from asv.environment import get_env_name

    # What asv appended after the path (environment variables of the matrix) stays.
    return get_env_name(EXISTING_TOOL, python, {}, {}) + asv_env_name[len(path_prefix) :]


# Names stored by migration 0004 and ingest before 0005: existing-py3.11-torch2.13.0+cpu[-VARS].
_NAME_WITH_TORCH = re.compile(r"^(existing-py[0-9.]+)-torch[^-]+(.*)$")


def without_torch(stored_name: str) -> str:
    """A stored ``existing-py<X.Y>-torch<version>`` name without its torch part (others unchanged)."""
    match = _NAME_WITH_TORCH.match(stored_name)
    return stored_name if match is None else match.group(1) + match.group(2)


def _existing_name_prefix(asv_python: str | None) -> str | None:
    """asv's name for an existing environment on interpreter ``asv_python``, without env-var parts."""
    if not asv_python or not any(sep in asv_python for sep in ("/", "\\")):
        return None  # a version ("3.11"): not an interpreter path, so not an existing environment
    from asv.environment import get_env_name

    return get_env_name(EXISTING_TOOL, asv_python.replace("\\", "_").replace("/", "_"), {}, {})


def _python(context: dict[str, Any] | None) -> str | None:
    if not isinstance(context, dict):
        return None
    python = context.get("python")
    if not isinstance(python, str):
        return None
    return ".".join(python.split(".")[:2]) or None
