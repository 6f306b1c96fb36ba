"""The ulp of DESIGN.md at binade edges and in the subnormal range, exact and vectorized."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from sqrtwatch.accuracy.numerics import FORMATS, binade_exponent, errors_in_ulps, ulp, ulp_error

F32, F16, F64 = FORMATS["float32"], FORMATS["float16"], FORMATS["float64"]
TWO = Fraction(2)


@pytest.mark.parametrize(
    ("y", "fmt", "expected"),
    [
        (Fraction(1), F32, TWO**-23),
        (Fraction(1) - TWO**-40, F32, TWO**-24),  # just below a binade edge: the lower binade
        (Fraction(2), F32, TWO**-22),
        (TWO**-126, F32, TWO**-149),  # smallest normal
        (TWO**-130, F32, TWO**-149),  # subnormal range: the spacing stays 2**(emin - p + 1)
        (Fraction(0), F32, TWO**-149),
        (Fraction(1), F16, TWO**-10),
        (TWO**-20, F16, TWO**-24),
        (Fraction(3, 2), F64, TWO**-52),
        (TWO**-1074, F64, TWO**-1074),
    ],
)
def test_ulp_matches_the_definition(y, fmt, expected):
    assert ulp(y, fmt) == expected


def test_binade_exponent_is_exact_next_to_powers_of_two():
    assert binade_exponent(TWO**10) == 10
    assert binade_exponent(TWO**10 - TWO**-60) == 9
    assert binade_exponent(-(TWO**-3)) == -3


def test_ulp_error_is_exact():
    assert ulp_error(Fraction(1) + TWO**-23, Fraction(1), F32) == 1
    assert ulp_error(Fraction(0), TWO**-149, F32) == 1


@pytest.mark.parametrize("fmt", [F16, F32, F64], ids=lambda f: f.name)
def test_vectorized_ulps_agree_with_the_exact_definition(fmt):
    # Correctly rounded roots at binade edges, subnormal spacing and zero, each 3 ulps off.
    tiny = 2.0 ** (fmt.emin - fmt.mantissa_bits)
    roots = [
        1.0,
        2.0 - 2.0**-fmt.mantissa_bits,
        2.0**fmt.emin,
        2.0**fmt.emin * 3,
        tiny,
        0.0,
        2.0 ** (fmt.emin + 5),
    ]
    reference = torch.tensor(roots, dtype=torch.float64).to(fmt.torch_dtype())
    deviation = torch.tensor([3 * float(ulp(Fraction(r), fmt)) for r in roots], dtype=torch.float64)
    assert errors_in_ulps(deviation, reference, fmt).tolist() == [3.0] * len(roots)
