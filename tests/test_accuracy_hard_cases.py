"""The hard-to-round sets really are hard: every root within 2**-20 ulp of a midpoint,
measured here again by integer arithmetic (no MPFR, no floats), over every binade."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from sqrtwatch.accuracy.engine import check_hard_cases
from sqrtwatch.accuracy.inputs import HARD_CASE_BOUND_LOG2, hard_cases, patterns_to_tensor
from sqrtwatch.accuracy.numerics import FORMATS

EXTRA_BITS = 80  # binary digits of the root kept beyond its last place


def midpoint_distance(value: float, precision: int) -> Fraction:
    """Distance in ulps from sqrt(value) to the nearest precision-bit midpoint, to 2**-80."""
    q = Fraction(value)
    log2 = q.numerator.bit_length() - q.denominator.bit_length()
    log2 = log2 if Fraction(2) ** log2 <= q else log2 - 1
    root_exponent = log2 // 2
    # 2R = sqrt(q) * 2**(p - root_exponent): twice the root in units of its ulp.
    scaled = q * Fraction(2) ** (2 * (precision - root_exponent + EXTRA_BITS))
    twice_root = Fraction(math.isqrt(scaled.numerator // scaled.denominator), 2**EXTRA_BITS)
    nearest_odd = 2 * math.floor(twice_root / 2) + 1
    return abs(twice_root - nearest_odd) / 2


@pytest.mark.parametrize("name", ["float32", "float64"])
def test_hard_case_roots_lie_within_the_bound_of_a_midpoint(name):
    fmt = FORMATS[name]
    cases = hard_cases(fmt)
    values = patterns_to_tensor(cases.patterns, fmt).double().tolist()
    measured = [midpoint_distance(v, fmt.precision) for v in values]
    bound = Fraction(2) ** HARD_CASE_BOUND_LOG2
    assert max(measured) <= bound + Fraction(1, 2**EXTRA_BITS)
    # MPFR's distances, kept with the cases, agree with the integer ones.
    assert np.allclose(cases.distances, [float(d) for d in measured], rtol=1e-9, atol=2.0**-75)


@pytest.mark.parametrize("name", ["float32", "float64"])
def test_hard_cases_cover_every_binade_both_parities_and_subnormals(name):
    fmt = FORMATS[name]
    patterns = hard_cases(fmt).patterns
    fields = set((patterns >> np.uint64(fmt.mantissa_bits)).tolist())
    assert set(range(1, fmt.exponent_field_max)) <= fields  # every normal binade
    assert 0 in fields  # subnormal inputs
    assert (patterns < (1 << fmt.mantissa_bits)).sum() >= 4
    assert patterns.size == np.unique(patterns).size


def test_one_plus_an_ulp_is_among_the_float64_hard_cases():
    # sqrt(1 + 2**-52) = 1 + 2**-53 - 2**-107 + ...: 2**-55 ulp below a midpoint.
    cases = hard_cases(FORMATS["float64"])
    index = np.flatnonzero(cases.patterns == np.uint64(0x3FF0000000000001))
    assert index.size == 1
    assert cases.distances[index[0]] == pytest.approx(2.0**-55, rel=1e-12)
    assert midpoint_distance(1 + 2.0**-52, 53) == pytest.approx(Fraction(2) ** -55, rel=1e-12)


def test_there_are_no_hard_cases_in_16_bit_formats():
    # |delta| >= 1 keeps every root 2**-(p+3) ulp or more from a midpoint: 2**-14 for float16.
    assert hard_cases(FORMATS["float16"]).patterns.size == 0
    assert hard_cases(FORMATS["bfloat16"]).patterns.size == 0


def numpy_sqrt(x):
    """float32 sqrt by NumPy: the hardware's correctly rounded sqrtps."""
    return torch.from_numpy(np.sqrt(x.numpy()))


def clear_last_bit(x):
    """NumPy's float32 sqrt with the last bit of every result cleared: wrong wherever it was set."""
    return (numpy_sqrt(x).view(torch.int32) & ~1).view(torch.float32)


def test_hard_case_mismatches_are_counted_on_their_own():
    fmt = FORMATS["float32"]
    x = patterns_to_tensor(hard_cases(fmt).patterns, fmt)
    exact = check_hard_cases(numpy_sqrt, "numpy", fmt, "cpu")
    assert (exact["tested"], exact["mismatches"]) == (x.numel(), 0)
    assert exact["bound_ulp"] == 2.0**HARD_CASE_BOUND_LOG2
    assert 0.5 - 2.0**HARD_CASE_BOUND_LOG2 <= exact["max_ulp"] < 0.5  # next to a midpoint
    truncated = check_hard_cases(clear_last_bit, "clear_last_bit", fmt, "cpu")
    assert truncated["mismatches"] == int((numpy_sqrt(x).view(torch.int32) & 1).sum()) > 0
    assert truncated["max_ulp"] > 1.49
