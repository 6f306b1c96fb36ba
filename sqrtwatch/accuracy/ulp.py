"""The ulp of DESIGN.md: ``ulp(y) = 2**(max(e, emin) - p + 1)`` for ``2**e <= |y| < 2**(e+1)``.

Below the normal range the ulp stays at its subnormal spacing, so an error there is
counted in units of the smallest subnormal, as IEEE 754 arithmetic sees it.
"""

from __future__ import annotations

from fractions import Fraction

from sqrtwatch.accuracy.formats import RealFormat


def binade_exponent(y: Fraction) -> int:
    """The ``e`` with ``2**e <= |y| < 2**(e+1)``; ``y`` must be nonzero."""
    y = abs(Fraction(y))
    if y == 0:
        raise ValueError("the binade of 0 is undefined")
    e = y.numerator.bit_length() - y.denominator.bit_length()
    # The bit-length difference is e or e + 1; settle it exactly.
    return e if Fraction(2) ** e <= y else e - 1


def ulp(y: Fraction, fmt: RealFormat) -> Fraction:
    """The exact ulp of the real ``y`` in ``fmt``; ``ulp(0)`` is the subnormal spacing."""
    e = binade_exponent(y) if y != 0 else fmt.emin
    return Fraction(2) ** (max(e, fmt.emin) - fmt.precision + 1)


def ulp_error(result: Fraction, exact: Fraction, fmt: RealFormat) -> Fraction:
    """``|result - exact| / ulp(exact)``, exactly."""
    return abs(Fraction(result) - Fraction(exact)) / ulp(exact, fmt)


def errors_in_ulps(abs_error, reference, fmt: RealFormat):
    """``abs_error / ulp(y)`` as float64, the ulp taken from the correctly rounded roots
    ``reference`` (a tensor; zeros get the subnormal spacing).

    The correctly rounded root lies in the same binade as the exact root: the largest
    float below ``4**k`` has a root below the midpoint under ``2**k``, so rounding never
    carries a square root up into the next binade.
    """
    import torch

    _, exponent = torch.frexp(reference.double().abs())  # y = m * 2**exponent, 0.5 <= m < 1
    e = torch.where(reference == 0, fmt.emin, exponent - 1).clamp_(min=fmt.emin)
    shift = fmt.precision - 1 - e  # up to 1074: 2**shift overflows, so scale in two halves
    half = shift // 2
    ones = torch.ones_like(abs_error)
    return abs_error * torch.ldexp(ones, half) * torch.ldexp(ones, shift - half)
