"""Planted bad implementations: the engine's counts must match an independent oracle exactly.

Each implementation below is wrong in a known way. The oracle (test_accuracy_oracle.py)
recomputes every float16 result with integer arithmetic, and the engine's mismatch
count, max and mean ulp and worst input must agree with it.
"""

from __future__ import annotations

import math

import pytest
import torch

from sqrtwatch.accuracy.engine import check_accuracy
from tests.test_accuracy_oracle import decode, expected_stats

ALL_FLOAT16 = list(range(1 << 16))


def exp_half_log(x):
    """sqrt as exp(log(x) / 2), each step rounded to the input dtype."""
    return torch.exp(0.5 * torch.log(x))


def flush_subnormals(x):
    """Correct, except that subnormal inputs (of either sign) give a zero of their sign."""
    tiny = torch.finfo(x.dtype).tiny
    return torch.where(x.abs() < tiny, x * 0, torch.sqrt(x))


def off_by_one_bit(x):
    """Correct, except the last bit is flipped up for positive finite inputs whose pattern is 3 mod 7."""
    result = torch.sqrt(x)
    bits = x.view(torch.int16).to(torch.int32) & 0xFFFF
    hit = (bits % 7 == 3) & (x > 0) & x.isfinite()
    return torch.where(hit, (result.view(torch.int16) + 1).view(x.dtype), result)


def plus_zero(x):
    """sqrt(x) + 0.0: right everywhere except that sqrt(-0) becomes +0."""
    return torch.sqrt(x) + 0.0


def _outputs(fn, dtype: str) -> list[float]:
    torch_dtype = getattr(torch, dtype)
    x = torch.arange(-(1 << 15), 1 << 15, dtype=torch.int16).view(torch_dtype)
    # Reorder to unsigned pattern order 0..65535 to line up with ALL_FLOAT16.
    x = torch.cat([x[1 << 15 :], x[: 1 << 15]])
    return fn(x).double().tolist()


@pytest.mark.parametrize("impl", ["exp_half_log", "flush_subnormals", "off_by_one_bit", "plus_zero"])
def test_engine_counts_match_the_oracle_on_float16(impl):
    report = check_accuracy(f"tests.test_accuracy_planted:{impl}", "float16", "cpu", "exhaustive")
    expected = expected_stats(ALL_FLOAT16, _outputs(globals()[impl], "float16"), "float16")

    assert report["mode"] == "exhaustive"
    assert report["inputs_tested"] == 1 << 16
    assert report["mismatches"] == expected.mismatches
    assert report["max_ulp"] == pytest.approx(expected.max_ulp, rel=1e-12)
    assert report["mean_ulp"] == pytest.approx(expected.mean_ulp, rel=1e-9)
    assert int(report["worst_input_bits"], 16) in expected.worst_bits


def test_flushing_subnormals_costs_exactly_the_subnormals():
    # 1023 positive subnormals should have roots >= 2**-12, and 1023 negative ones NaN.
    report = check_accuracy("tests.test_accuracy_planted:flush_subnormals", "float16", "cpu", "exhaustive")
    assert report["mismatches"] == 2 * 1023
    # The largest subnormal's root is 31.98... * 2**-12: nearly 2048 ulps, and 0 was returned.
    assert report["max_ulp"] == pytest.approx(math.sqrt(1023) / 16 * 1024, rel=1e-12)
    assert report["worst_input_bits"] == "0x03ff"


def test_off_by_one_bit_counts_every_flipped_input():
    flipped = [b for b in ALL_FLOAT16 if b % 7 == 3 and 0 < decode(b, "float16") < math.inf]
    report = check_accuracy("tests.test_accuracy_planted:off_by_one_bit", "float16", "cpu", "exhaustive")
    assert report["mismatches"] == len(flipped)
    assert 0.5 < report["max_ulp"] < 1.5


def test_plus_zero_fails_only_negative_zero():
    report = check_accuracy("tests.test_accuracy_planted:plus_zero", "bfloat16", "cpu", "exhaustive")
    assert report["mismatches"] == 1
    assert [case["case"] for case in report["special_values"]["cases"]] == ["-0"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_torch_sqrt_on_16_bit_dtypes_matches_the_oracle(dtype):
    report = check_accuracy("torch.sqrt", dtype, "cpu", "exhaustive")
    expected = expected_stats(ALL_FLOAT16, _outputs(torch.sqrt, dtype), dtype)
    assert report["mismatches"] == expected.mismatches
    assert report["max_ulp"] == pytest.approx(expected.max_ulp, rel=1e-12)
    assert report["mean_ulp"] == pytest.approx(expected.mean_ulp, rel=1e-9)
