"""An independent oracle for the accuracy tests: exact integer arithmetic, no torch, no engine.

Decodes float16/bfloat16 bit patterns with ``struct``, rounds square roots with
``math.isqrt`` and Fractions, and measures ulp errors from DESIGN.md's definition.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from fractions import Fraction

# (precision, smallest normal exponent) per format
FORMATS = {"float16": (11, -14), "bfloat16": (8, -126), "float32": (24, -126), "float64": (53, -1022)}
ROOT_BITS = 120  # binary digits kept of irrational roots when measuring ulp errors


def decode(bits: int, dtype: str) -> float:
    """The value of an unsigned bit pattern (exact, as a Python float)."""
    if dtype == "float16":
        return struct.unpack("<e", struct.pack("<H", bits))[0]
    if dtype == "bfloat16":
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]
    if dtype == "float32":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _exponent(q: Fraction) -> int:
    """floor(log2(q)) for q > 0."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def correctly_rounded_sqrt(x: float, dtype: str) -> float:
    """RN(sqrt(x)) in ``dtype`` by integer arithmetic (x finite and > 0)."""
    p, _ = FORMATS[dtype]
    q = Fraction(x)
    e = _exponent(q) // 2  # binade of the root: floor(log2(q)) // 2 = floor(log2(sqrt(q)))
    scale = Fraction(2) ** (2 * (p - 1 - e))  # root * 2**(p-1-e) lies in [2**(p-1), 2**p)
    m = math.isqrt(math.floor(q * scale))  # floor of the scaled root
    # Round up when the root exceeds the midpoint m + 1/2 (it never equals it).
    if q * scale > (Fraction(2 * m + 1, 2)) ** 2:
        m += 1
    return float(Fraction(m) * Fraction(2) ** (e - p + 1))


def exact_root(x: float) -> Fraction:
    """sqrt(x) to ROOT_BITS binary digits (x finite and >= 0)."""
    q = Fraction(x)
    shift = 2 * ROOT_BITS - 2 * (_exponent(q) // 2) if q else 0
    return Fraction(math.isqrt(math.floor(q * Fraction(2) ** shift)), 2 ** (shift // 2)) if q else Fraction(0)


def ulp(y: Fraction, dtype: str) -> Fraction:
    p, emin = FORMATS[dtype]
    e = _exponent(y) if y else emin
    return Fraction(2) ** (max(e, emin) - p + 1)


def expected_result(x: float, dtype: str) -> float:
    """IEEE 754 sqrt: exact for specials, correctly rounded otherwise."""
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0 or math.isinf(x):
        return x
    return correctly_rounded_sqrt(x, dtype)


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@dataclass
class Expected:
    mismatches: int
    max_ulp: float
    mean_ulp: float
    worst_bits: list[int]  # every input reaching max_ulp


@functools.cache
def _truth(bits: int, dtype: str) -> tuple[float, Fraction | None, Fraction | None]:
    """The required result for a pattern, and its exact root and ulp where they are finite."""
    x = decode(bits, dtype)
    correct = expected_result(x, dtype)
    if not (math.isfinite(correct) and correct > 0):
        return correct, None, None
    y = exact_root(x)
    return correct, y, ulp(y, dtype)


def expected_stats(inputs: list[int], outputs: list[float], dtype: str) -> Expected:
    """Mismatches and ulp statistics of ``outputs`` for the bit patterns ``inputs``."""
    mismatches, errors = 0, {}
    for bits, r in zip(inputs, outputs):
        correct, y, y_ulp = _truth(bits, dtype)
        mismatches += not same(r, correct)
        if y is not None and y_ulp is not None and math.isfinite(r):  # correct is finite and > 0
            errors[bits] = abs(Fraction(r) - y) / y_ulp
    worst = max(errors.values())
    mean = sum(errors.values()) / len(errors)
    return Expected(mismatches, float(worst), float(mean), [b for b, e in errors.items() if e == worst])


# The oracle's own checks, against values known by hand.


def test_oracle_rounds_known_roots():
    assert correctly_rounded_sqrt(4.0, "float16") == 2.0
    assert correctly_rounded_sqrt(2.0, "float64") == math.sqrt(2.0)  # libm sqrt is IEEE-exact
    assert correctly_rounded_sqrt(2.0**-24, "float16") == 2.0**-12  # smallest float16 subnormal
    # Just below 4: the root rounds down to the largest float16 below 2.
    assert correctly_rounded_sqrt(decode(0x43FF, "float16"), "float16") == decode(0x3FFF, "float16")


def test_oracle_ulp_at_edges():
    assert ulp(Fraction(1), "float32") == Fraction(1, 2**23)
    assert ulp(Fraction(1) - Fraction(1, 2**30), "float32") == Fraction(1, 2**24)
    assert ulp(Fraction(1, 2**130), "float32") == Fraction(1, 2**149)
    assert ulp(Fraction(0), "float16") == Fraction(1, 2**24)
