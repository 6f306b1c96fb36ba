"""The code layout that editors and type checkers rely on, and the CLI's light start.

Every project import must name a file on disk under the repository (through the
``sqrtwatch/db`` and ``sqrtwatch/dashboard`` symbolic links), with no import hook:
that is what go-to-definition in an editor resolves.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PROJECT_PACKAGES = ("sqrtwatch", "benchmarks", "tests")
# Folders of Python code; sqrtwatch/ covers db/ and dashboard/ through its links.
CODE_DIRS = ("sqrtwatch", "benchmarks", "scripts", "tests")
HEAVY_MODULES = ("torch", "streamlit", "pandas", "numpy", "scipy", "plotly", "sqlalchemy", "asv")


def module_file(name: str) -> Path | None:
    """The file of module ``name`` under the repository root, as a path-based resolver finds it."""
    base = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def top_level_names(path: Path) -> set[str]:
    """Names a module binds at its top level (definitions, assignments, imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def package_of(path: Path) -> str:
    """The dotted package of a file found under one of CODE_DIRS (links not resolved)."""
    return ".".join(path.relative_to(REPO_ROOT).parent.parts)


def python_files() -> list[Path]:
    """Every .py file of CODE_DIRS, following the links (pathlib's rglob does not before 3.13)."""
    files = []
    for folder in CODE_DIRS:
        for directory, _, names in os.walk(REPO_ROOT / folder, followlinks=True):
            files += [Path(directory) / name for name in names if name.endswith(".py")]
    return sorted(files)


def project_imports() -> list[tuple[Path, int, str, str | None]]:
    """(file, line, module, imported name or None) for every import of a project module."""
    found: list[tuple[Path, int, str, str | None]] = []
    for path in python_files():
        if "migrations" in path.parts:
            continue  # Alembic loads these by path
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path, node.lineno, alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    parent = package_of(path).split(".")
                    parent = parent[: len(parent) - node.level + 1]
                    module = ".".join(part for part in [*parent, module] if part)
                found += [(path, node.lineno, module, alias.name) for alias in node.names]
    return [item for item in found if item[2].split(".")[0] in PROJECT_PACKAGES]


def test_the_folders_are_linked_into_the_sqrtwatch_package():
    assert (REPO_ROOT / "sqrtwatch" / "db").resolve() == REPO_ROOT / "db"
    assert (REPO_ROOT / "sqrtwatch" / "dashboard").resolve() == REPO_ROOT / "dashboard"


def test_every_project_import_resolves_to_a_file_on_disk():
    imports = project_imports()
    assert len(imports) > 200, "the walk found the project's imports"
    unresolved = []
    for path, line, module, name in imports:
        where = f"{path.relative_to(REPO_ROOT)}:{line}"
        target = module_file(module)
        if target is None:
            unresolved.append(f"{where}: no file for {module}")
        elif (
            name not in (None, "*")
            and module_file(f"{module}.{name}") is None
            and name not in top_level_names(target)
        ):
            unresolved.append(f"{where}: {module} has no {name}")
    assert not unresolved, "\n".join(unresolved)


def _modules_after(code: str) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sys.modules))"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(completed.stdout.split())


@pytest.mark.parametrize("code", ["import sqrtwatch.cli", "from sqrtwatch.cli import main"])
def test_the_cli_starts_without_heavy_libraries(code):
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY_MODULES), "commands import these when they run"


def test_help_prints_only_the_help():
    completed = subprocess.run(
        [sys.executable, "-m", "sqrtwatch", "--help"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("Usage: ") and "Commands:" in completed.stdout
    assert completed.stderr == ""


def test_the_suites_measure_the_dtypes_and_devices_of_the_vocabulary():
    from benchmarks import bench_crossover, common
    from sqrtwatch import vocabulary

    assert tuple(common.DTYPES) == vocabulary.DTYPES
    assert tuple(common.DEVICES) == vocabulary.DEVICES
    assert tuple(bench_crossover.GPU_DEVICES) == vocabulary.GPU_DEVICES
    assert common.MPS_UNSUPPORTED_DTYPES == vocabulary.MPS_UNSUPPORTED_DTYPES
    assert set(vocabulary.DTYPE_BYTES) == set(vocabulary.DTYPES)
