"""The special-value table: exact cases, each in four layouts, never in ulp statistics."""

from __future__ import annotations

import torch

from sqrtwatch.accuracy.special import LAYOUTS, cases_for, check_special_values


def wrong_in_the_tail(x):
    """Right, except that the last element of a long contiguous tensor comes back as 0."""
    result = torch.sqrt(x)
    if result.numel() > 1 and x.is_contiguous():
        result[-1] = 0
    return result


def conjugate_blind(z):
    """Complex sqrt that ignores the sign of the imaginary part (the wrong side of the cut)."""
    return torch.sqrt(torch.complex(z.real, z.imag.abs()))


def test_real_table_covers_the_ieee_edges():
    names = {case.name for case in cases_for("float32")}
    assert {"+0", "-0", "smallest subnormal", "largest subnormal", "smallest normal", "1"} <= names
    assert {"largest finite", "+inf", "-1", "-inf", "NaN"} <= names
    negative_zero = next(case for case in cases_for("float16") if case.name == "-0")
    assert str(negative_zero.expected) == "-0.0"


def test_a_tail_bug_fails_only_the_tail_layout():
    report = check_special_values(wrong_in_the_tail, "tail", "float32", "cpu")
    failing = {case["case"]: case["failing_layouts"] for case in report["cases"]}
    assert failing["1"] == ["tail"]
    assert "+0" not in failing  # sqrt(+0) = 0 is what the bug writes anyway
    assert report["failed"] == len(failing) and report["tested"] == len(cases_for("float32"))


def test_the_branch_cut_is_checked_on_both_sides():
    report = check_special_values(conjugate_blind, "conj", "complex64", "cpu")
    failing = {case["case"] for case in report["cases"]}
    assert {"-4-0i", "-4-eps*i", "1-inf*i", "-inf-1i"} <= failing
    assert not {"-4+0i", "-4+eps*i", "1+inf*i"} & failing


def test_every_layout_is_reported():
    report = check_special_values(torch.sqrt, "torch.sqrt", "complex128", "cpu")
    assert report["layouts"] == list(LAYOUTS)
