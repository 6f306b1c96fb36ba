"""Correctly rounded square roots: the yardstick every implementation is held to.

float16, bfloat16 and float32 go through float64: the float64 square root of a
``p``-bit float is correctly rounded, and rounding it again to ``p`` bits gives the
correctly rounded ``p``-bit root whenever ``53 >= 2p + 2`` (Figueroa, "When is double
rounding innocuous?", SIGNUM 1995; also Boldo & Melquiond): a square root of a
``p``-bit float can never lie close enough to a ``p``-bit midpoint for the first
rounding to move it onto one. 53 >= 50 holds for float32 (p = 24), and the same bound
covers torch's float64 -> float32 -> float16 conversion chain (24 >= 2 * 11 + 2).
Square roots of positive floats are never subnormal (sqrt(2**-1074) = 2**-537), so no
subnormal rounding is involved.

float64 and the complex dtypes use MPFR/MPC through gmpy2: exact arithmetic, not a
float64 computation.
"""

from __future__ import annotations

import math

import numpy as np

from sqrtwatch.accuracy.formats import FORMATS, RealFormat

# MPFR precision for float64 roots: 110 >= 2 * 53 + 2, so rounding the 110-bit root to
# 53 bits is the correctly rounded float64 root (same theorem as above), and the
# 110-bit root minus that gives an error term exact to float64 precision.
FLOAT64_WORKING_PRECISION = 110
# MPC precision for complex roots before rounding each component to its format.
COMPLEX_WORKING_PRECISION = 256


def sqrt_reference_via_float64(x):
    """``(reference, root64)``: the correctly rounded root of a float16/bfloat16/float32
    tensor ``x`` in its own dtype, and the float64 root used for ulp errors."""
    root64 = x.double().sqrt()
    return root64.to(x.dtype), root64


def sqrt_reference_float64(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(reference, remainder)`` for a float64 array: the correctly rounded root and the
    exact root minus it (as a float64), both computed with MPFR.

    Zeros keep their sign, negatives give NaN, +inf gives +inf (IEEE 754 sqrt)."""
    import gmpy2

    reference = np.empty_like(values, dtype=np.float64)
    remainder = np.zeros_like(values, dtype=np.float64)
    context = gmpy2.context(precision=FLOAT64_WORKING_PRECISION)
    mpfr, sqrt = gmpy2.mpfr, context.sqrt
    for i, value in enumerate(values.tolist()):
        if value > 0 and value != math.inf:
            root = sqrt(mpfr(value))
            rounded = float(root)  # round to nearest even, the default MPFR rounding
            reference[i] = rounded
            remainder[i] = float(root - rounded)
        elif value == 0 or value == math.inf:
            reference[i] = value
        else:
            reference[i] = math.nan
    return reference, remainder


def format_rounding(fmt: RealFormat):
    """A function rounding an MPFR value to nearest even in ``fmt``, subnormals included."""
    import gmpy2

    if fmt is FORMATS["float64"]:
        return float  # mpfr_get_d rounds to nearest, subnormals included
    context = gmpy2.ieee(fmt.bits)
    return lambda value: float(context.plus(value))


def csqrt_reference(values: np.ndarray, fmt: RealFormat):
    """Principal complex square roots of finite complex ``values`` with MPC.

    Returns ``(reference, high, low)``: the correctly rounded components as a complex
    array, and each exact component as a float64 pair ``high + low`` (``high`` float64
    rounded, ``low`` the rest), for error measurements."""
    import gmpy2

    n = values.shape[0]
    reference = np.empty(n, dtype=np.complex128)
    high = np.empty((n, 2), dtype=np.float64)
    low = np.empty((n, 2), dtype=np.float64)
    context = gmpy2.context(precision=COMPLEX_WORKING_PRECISION)
    mpc, sqrt, rounded = gmpy2.mpc, context.sqrt, format_rounding(fmt)
    for i, value in enumerate(values.tolist()):
        root = sqrt(mpc(value))
        re, im = root.real, root.imag
        high[i, 0], high[i, 1] = h_re, h_im = float(re), float(im)
        low[i, 0], low[i, 1] = float(re - h_re), float(im - h_im)
        reference[i] = complex(rounded(re), rounded(im))
    return reference, high, low
