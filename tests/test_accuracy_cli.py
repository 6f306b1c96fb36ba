"""``sqrtwatch accuracy`` through click's CliRunner: the JSON contract, text, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sqrtwatch.accuracy.report import CONTRACT_FIELDS
from sqrtwatch.cli import main


def _run(*args: str):
    return CliRunner().invoke(main, ["accuracy", *args], catch_exceptions=False)


def test_json_holds_the_contract_fields_per_dtype():
    result = _run(
        "--dtype",
        "float16",
        "--dtype",
        "float64",
        "--mode",
        "exhaustive",
        "--samples",
        "2048",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)
    assert [r["dtype"] for r in reports] == ["float16", "float64"]
    for report in reports:
        assert list(report)[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
        assert report["impl"] == "torch.sqrt" and report["device"] == "cpu"
        assert set(report["special_values"]) >= {"tested", "failed", "cases"}
        assert report["mismatch_fraction"] == report["mismatches"] / report["inputs_tested"]
        assert report["fingerprint"].startswith("sha256:")
    float16, float64 = reports
    assert (float16["mode"], float16["inputs_tested"]) == ("exhaustive", 65536)
    assert float16["worst_input_bits"].startswith("0x") and len(float16["worst_input_bits"]) == 6
    # float64 cannot be exhaustive: the engine samples and says so.
    assert float64["mode"] == "sample" and float64["requested_mode"] == "exhaustive"
    assert "sampled instead" in float64["note"]


def test_text_is_a_table_with_one_row_per_dtype():
    result = _run("--dtype", "bfloat16", "--impl", "mul_rsqrt")
    assert result.exit_code == 0, result.output
    header, row, *failures = result.output.splitlines()
    assert header.split()[:4] == ["impl", "dtype", "device", "mode"]
    assert row.split()[:4] == ["mul_rsqrt", "bfloat16", "cpu", "exhaustive"]
    # x * rsqrt(x) gives NaN for 0 and inf: the table lists those special-value failures.
    assert any("sqrt(0.0) should be 0.0, got nan" in line for line in failures)


@pytest.mark.parametrize(
    ("impl", "message"),
    [
        ("no_such_impl", "unknown implementation 'no_such_impl'"),
        ("no_such_module_xyz:sqrt", "cannot import module 'no_such_module_xyz'"),
        ("math:no_such_function", "has no attribute 'no_such_function'"),
    ],
)
def test_bad_impl_is_a_clear_error(impl, message):
    result = CliRunner().invoke(main, ["accuracy", "--impl", impl, "--dtype", "float16"])
    assert result.exit_code == 1
    assert message in result.output and "--impl" in result.output


def test_unsupported_dtype_of_an_impl_is_a_clear_error():
    result = CliRunner().invoke(main, ["accuracy", "--impl", "numpy", "--dtype", "bfloat16"])
    assert result.exit_code == 1
    assert "numpy does not support bfloat16" in result.output


def test_impl_returning_the_wrong_dtype_is_a_clear_error():
    result = CliRunner().invoke(
        main, ["accuracy", "--impl", "tests.test_accuracy_cli:as_float32", "--dtype", "float16"]
    )
    assert result.exit_code == 1
    assert "returned torch.float32" in result.output


def as_float32(x):
    """An implementation that forgets to keep the input dtype."""
    return x.float().sqrt()


def test_by_binade_json_marks_underflow_subnormals_and_overflow():
    result = _run(
        "--dtype",
        "float16",
        "--impl",
        "tests.test_accuracy_planted:off_by_one_bit",
        "--format",
        "json",
        "--by-binade",
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    rows = {row["exponent"]: row for row in report["by_binade"]}
    # float16: subnormals from 2**-24, normals from 2**-14, largest finite below 2**16.
    assert rows[-27]["region"] == "underflow" and rows[-27]["total_rel_error"] == 1.0  # 1e-8 -> 0
    assert rows[-24]["region"] == "subnormal" and rows[-24]["input_rel_error"] == 0.5
    assert rows[-15]["input_rel_error"] == 2.0**-11 * 2
    assert rows[-14]["region"] == "normal" and rows[-14]["input_rel_error"] == 2.0**-11
    assert rows[16]["region"] == "overflow" and rows[16]["input_rel_error"] is None
    assert min(rows) < -24 and max(rows) > 15
    # Every positive finite input is counted once, and the planted mismatches all land in binades.
    assert sum(row["inputs"] for row in rows.values()) == 0x7C00 - 1
    assert sum(row["mismatches"] for row in rows.values()) == report["mismatches"]
    assert max(row["max_ulp"] or 0 for row in rows.values()) == report["max_ulp"]
    assert rows[0]["sqrt_rel_error"] == rows[0]["max_ulp"] * 2.0**-10


def test_by_binade_text_and_its_absence_by_default():
    result = _run("--dtype", "bfloat16", "--by-binade")
    assert result.exit_code == 0, result.output
    assert "torch.sqrt bfloat16 cpu (exhaustive): by input binade" in result.output
    assert any(line.split()[:2] == ["2**-133", "subnormal"] for line in result.output.splitlines())
    plain = json.loads(_run("--dtype", "bfloat16", "--format", "json").output)
    assert "by_binade" not in plain[0] and plain[0]["hard_cases"]["tested"] == 0
