"""``sqrtwatch accuracy --impl`` with implementations that misbehave: an error and exit 1, never a traceback."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from sqrtwatch.cli import MAX_SAMPLES, main

IMPLS = {
    "raises": ("def f(x):\n    raise ValueError('no roots today')\n", "ValueError: no roots today"),
    "divides": ("def f(x):\n    return {}['missing']\n", "KeyError: 'missing'"),
    "exits": ("import sys\ndef f(x):\n    sys.exit(0)\n", "SystemExit: 0"),
    "in_place": ("def f(x):\n    return x.sqrt_()\n", "modified its input in place"),
    "import_fails": ("1 / 0\ndef f(x):\n    return x.sqrt()\n", "ZeroDivisionError: division by zero"),
    "import_exits": ("raise SystemExit(0)\n", "SystemExit: 0"),
}


@pytest.mark.parametrize("case", sorted(IMPLS))
def test_a_misbehaving_impl_is_a_clear_error(tmp_path, monkeypatch, case):
    source, message = IMPLS[case]
    module = f"hostile_{case}_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(main, ["accuracy", "--impl", f"{module}:f", "--dtype", "float16"])
    assert result.exit_code == 1, result.output
    assert message in result.output and module in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_an_impl_that_returns_a_new_tensor_still_passes(tmp_path, monkeypatch):
    (tmp_path / "fine_impl.py").write_text("def f(x):\n    return x.sqrt()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(main, ["accuracy", "--impl", "fine_impl:f", "--dtype", "float16"])
    assert result.exit_code == 0, result.output


def test_samples_are_capped(tmp_path):
    result = CliRunner().invoke(main, ["accuracy", "--mode", "sample", "--samples", str(10**12)])
    assert result.exit_code == 2
    assert f"1<=x<={MAX_SAMPLES}" in result.output
