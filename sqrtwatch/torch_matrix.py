"""The torch-version matrix: one asv virtualenv per torch version, named after it.

asv names a matrix environment after its requirements (``virtualenv-py3.11-torch2.13.0``),
so the torch version travels in every results file name and in its ``env_name``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ENV_TYPE = "virtualenv"
# ``sqrtwatch run --torch all`` takes every version listed in asv.conf.json.
ALL_CONFIGURED = "all"


class MatrixError(ValueError):
    """A torch version or the matrix configuration is unusable."""


def this_python() -> str:
    """The ``MAJOR.MINOR`` of the running interpreter, which the matrix environments reuse."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def configured_torch_versions(config: dict[str, Any]) -> list[str]:
    """The torch versions listed in an asv configuration's ``matrix.req.torch``."""
    versions = config.get("matrix", {}).get("req", {}).get("torch")
    if not isinstance(versions, list) or not all(isinstance(v, str) and v for v in versions):
        raise MatrixError('asv.conf.json: "matrix": {"req": {"torch": [...]}} must list torch versions')
    return versions


def resolve_torch_versions(requested: list[str], config: dict[str, Any]) -> list[str]:
    """Exact versions to run: ``requested`` as given, or the configured list for ``all``."""
    from packaging.version import InvalidVersion, Version

    versions = configured_torch_versions(config) if requested == [ALL_CONFIGURED] else requested
    for version in versions:
        try:
            Version(version)
        except InvalidVersion:
            raise MatrixError(
                f"torch version {version!r} is not an exact release such as 2.13.0 "
                f"(or {ALL_CONFIGURED!r} for the list in asv.conf.json)"
            ) from None
        if not version[0].isdigit():
            # pip would read "v2.1" as a version, asv would write "torchv2.1" into names
            raise MatrixError(f"torch version {version!r} must start with a digit")
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:
        raise MatrixError(f"torch version given twice: {', '.join(duplicates)}")
    return versions


def matrix_config(config: dict[str, Any], torch_versions: list[str], python: str) -> dict[str, Any]:
    """``config`` reduced to one virtualenv per torch version, all on ``python``.

    Other requirement axes of the configured matrix are kept as they are.
    """
    reduced = copy.deepcopy(config)
    reduced["environment_type"] = ENV_TYPE
    reduced["pythons"] = [python]
    matrix = reduced.setdefault("matrix", {})
    matrix.setdefault("req", {})["torch"] = list(torch_versions)
    return reduced


def env_name(python: str, torch_version: str) -> str:
    """The name asv gives the environment of ``torch_version`` (no other matrix axes)."""
    from asv.environment import get_env_name

    return get_env_name(ENV_TYPE, python, {"torch": torch_version}, {})


def matrix_environments(config_path: Path) -> list:
    """asv's environment objects for the matrix of the asv config at ``config_path``."""
    from asv.config import Config
    from asv.environment import get_environments

    return list(get_environments(Config.load(str(config_path)), [], verbose=False))


def env_context(env, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The context of an asv environment, collected by its own Python.

    ``environ``: the variables asv's benchmark processes get (default: this process's);
    the environment's own matrix variables are added as asv adds them.
    """
    from asv.util import ProcessError

    # Run from an empty folder: from the checkout, ``-m`` would import the working
    # tree's sqrtwatch instead of the one installed in the environment.
    try:
        with tempfile.TemporaryDirectory(prefix="sqrtwatch-context-") as empty:
            variables = dict(os.environ if environ is None else environ) | dict(env.env_vars)
            output = env.run(["-m", "sqrtwatch.context"], cwd=empty, env=variables)
    except ProcessError as exc:
        raise MatrixError(f"{env.name}: python -m sqrtwatch.context failed: {exc}") from exc
    try:
        return json.loads(output)
    except json.JSONDecodeError as exc:
        raise MatrixError(f"{env.name}: python -m sqrtwatch.context printed no JSON: {exc}") from exc


def check_installed_torch(requested: str, installed: str, name: str) -> None:
    """Fail when pip put another torch into the environment than the matrix asked for.

    A local label (``2.13.0+cpu``) still matches a plain requested ``2.13.0``.
    """
    from packaging.version import Version

    wanted, got = Version(requested), Version(installed)
    if got != wanted and (wanted.local is not None or Version(got.public) != wanted):
        raise MatrixError(f"{name}: asked for torch {requested}, the environment has torch {installed}")


def accuracy_for_torch(details: list[dict], torch_version: str) -> list[dict]:
    """The accuracy reports of one environment, when several environments shared a detail directory.

    Reports carry ``torch_version`` (DESIGN.md); a report without one is kept everywhere.
    """
    return [d for d in details if d.get("torch_version") in (None, torch_version)]
