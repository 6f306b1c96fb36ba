"""The environment name results are stored (and their series keyed) under.

asv names an ``existing`` environment (``sqrtwatch run`` without ``--torch``)
after the interpreter's path, ``existing-py_work_main_.venv_bin_python3``, so
the same machine would get a new environment, and new series, per checkout
path. Such results are stored under a name made from what the environment
holds instead: ``existing-py3.11-torch2.13.0+cpu`` (Python major.minor and
torch version from the run's context file), built as asv builds its names.
Other environments (asv virtualenvs, whose names already carry Python and
torch) keep asv's name; the results files themselves are never renamed.
"""

from __future__ import annotations

from typing import Any

EXISTING_TOOL = "existing"


def stored_env_name(asv_env_name: str, asv_python: str | None, context: dict[str, Any] | None) -> str:
    """The name to store a run of asv environment ``asv_env_name`` under.

    ``asv_python``: the results file's ``python`` (for an existing environment, the
    interpreter path); ``context``: the run's context file as read. Without a
    context naming Python and torch, asv's name is kept.
    """
    path_prefix = _existing_name_prefix(asv_python)
    if path_prefix is None or not (asv_env_name == path_prefix or asv_env_name.startswith(path_prefix + "-")):
        return asv_env_name
    python, torch_version = _python_and_torch(context)
    if python is None or torch_version is None:
        return asv_env_name
    from asv.environment import get_env_name

    # What asv appended after the path (environment variables of the matrix) stays.
    return (
        get_env_name(EXISTING_TOOL, python, {"torch": torch_version}, {}) + asv_env_name[len(path_prefix) :]
    )


def _existing_name_prefix(asv_python: str | None) -> str | None:
    """asv's name for an existing environment on interpreter ``asv_python``, without env-var parts."""
    if not asv_python or not any(sep in asv_python for sep in ("/", "\\")):
        return None  # a version ("3.11"): not an interpreter path, so not an existing environment
    from asv.environment import get_env_name

    return get_env_name(EXISTING_TOOL, asv_python.replace("\\", "_").replace("/", "_"), {}, {})


def _python_and_torch(context: dict[str, Any] | None) -> tuple[str | None, str | None]:
    if not isinstance(context, dict):
        return None, None
    python, torch_version = context.get("python"), context.get("torch_version")
    if not isinstance(python, str) or not isinstance(torch_version, str) or not torch_version:
        return None, None
    major_minor = ".".join(python.split(".")[:2])
    return (major_minor or None), torch_version
