"""Formats, ulps, correctly rounded references and the floating-point mode.

The formats follow IEEE 754 (and bfloat16's float32-like layout) with DESIGN.md's
``p`` (precision) and ``emin`` (smallest normal exponent).

References. float16, bfloat16 and float32 go through NumPy's float64 square root,
which is the hardware ``sqrtsd``/``sqrtpd`` (``fsqrt`` on ARM): IEEE 754 requires it
to be correctly rounded, and it owes nothing to torch. Rounding that float64 root
again to ``p`` bits gives the correctly rounded ``p``-bit root whenever
``53 >= 2p + 2`` (Figueroa, "When is double rounding innocuous?", SIGNUM 1995; also
Boldo & Melquiond): the root of a ``p``-bit float never lies close enough to a
``p``-bit midpoint for the first rounding to move it onto one. 53 >= 50 holds for
float32 (p = 24) and a fortiori for float16 and bfloat16. Roots of positive floats are
never subnormal (sqrt(2**-1074) = 2**-537). float64 and complex dtypes use MPFR/MPC
through gmpy2: integer arithmetic, which no floating-point mode flag affects.

Floating-point mode. With subnormals flushed (x86 MXCSR FTZ/DAZ, ARM FPCR.FZ: set by
``torch.set_flush_denormal(True)`` or by any library built with ``-ffast-math``),
conversions and NumPy's sqrt read subnormal inputs as zero, so a reference computed in
that mode is wrong exactly where a flushing implementation is. :func:`ieee_mode`
computes the reference with the mode cleared, and refuses when it cannot be cleared.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from sqrtwatch.vocabulary import COMPLEX_DTYPES, DTYPES

ALL_DTYPES = DTYPES

# MPFR precision for float64 roots: 110 >= 2 * 53 + 2, so rounding the 110-bit root to
# 53 bits is the correctly rounded float64 root (same theorem as above), and the
# 110-bit root minus that gives an error term exact to float64 precision.
FLOAT64_WORKING_PRECISION = 110
# MPC precision for complex roots before rounding each component to its format.
COMPLEX_WORKING_PRECISION = 256


@dataclass(frozen=True)
class RealFormat:
    """One binary floating-point format: its width, precision and exponent range."""

    name: str
    bits: int
    precision: int
    emin: int
    emax: int

    @property
    def mantissa_bits(self) -> int:
        return self.precision - 1

    @property
    def exponent_bits(self) -> int:
        return self.bits - self.precision

    @property
    def sign_mask(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def exponent_field_max(self) -> int:
        """The all-ones exponent field, which encodes infinities and NaNs."""
        return (1 << self.exponent_bits) - 1

    @property
    def patterns(self) -> int:
        return 1 << self.bits

    @property
    def smallest_subnormal_exponent(self) -> int:
        """``log2`` of the smallest positive subnormal."""
        return self.emin - self.mantissa_bits

    def torch_dtype(self):
        import torch

        return getattr(torch, self.name)

    def int_dtype(self):
        """The signed integer dtype of the same width, used to view the bits."""
        import torch

        return {16: torch.int16, 32: torch.int32, 64: torch.int64}[self.bits]

    def unsigned(self, signed_bits: int) -> int:
        """A bit pattern read through a signed integer view, as an unsigned integer."""
        return signed_bits & (self.patterns - 1)

    def signed(self, unsigned_bits: int) -> int:
        """An unsigned bit pattern as the value of the signed integer view."""
        return unsigned_bits - self.patterns if unsigned_bits & self.sign_mask else unsigned_bits

    def hex(self, bits: int) -> str:
        """The bit pattern as zero-padded hex, e.g. ``0x3c00`` for float16 1.0."""
        return f"0x{self.unsigned(bits):0{self.bits // 4}x}"


FORMATS: dict[str, RealFormat] = {
    "float16": RealFormat("float16", 16, 11, -14, 15),
    "bfloat16": RealFormat("bfloat16", 16, 8, -126, 127),
    "float32": RealFormat("float32", 32, 24, -126, 127),
    "float64": RealFormat("float64", 64, 53, -1022, 1023),
}

# A complex dtype is a pair of components of this real format.
COMPONENT_FORMAT = {"complex64": FORMATS["float32"], "complex128": FORMATS["float64"]}


def component_format(dtype: str) -> RealFormat:
    """The real format of ``dtype`` itself, or of each component of a complex dtype."""
    return COMPONENT_FORMAT.get(dtype) or FORMATS[dtype]


def is_complex(dtype: str) -> bool:
    return dtype in COMPLEX_DTYPES


# --- ulps (DESIGN.md): ulp(y) = 2**(max(e, emin) - p + 1) for 2**e <= |y| < 2**(e+1) ---


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


# --- the floating-point mode of the calling thread ---


class FloatingPointModeError(RuntimeError):
    """Subnormals are flushed in this thread and the mode cannot be cleared."""


def fp_mode() -> dict[str, bool]:
    """The calling thread's subnormal handling, probed with NumPy's float64 arithmetic:
    ``flush_to_zero`` (subnormal results become 0), ``denormals_are_zero`` (subnormal
    operands are read as 0)."""
    # From bit patterns: a literal or a power computed in a flushed mode is already 0.
    smallest_subnormal, smallest_normal = np.array([1, 1 << 52], dtype=np.int64).view(np.float64)
    denormals_are_zero = bool(smallest_subnormal * np.float64(2.0**100) == 0)
    flush_to_zero = bool(smallest_normal * np.float64(0.5) == 0)
    return {"flush_to_zero": flush_to_zero, "denormals_are_zero": denormals_are_zero}


@contextmanager
def ieee_mode():
    """Run the block with subnormals honoured (FTZ and DAZ clear) in this thread, and
    torch's ops on this thread alone: its pool threads keep whatever mode they started with.

    Raises :class:`FloatingPointModeError` when the mode cannot be cleared. Afterwards
    a flushed mode is set again with ``torch.set_flush_denormal(True)``, which sets
    FTZ and DAZ together (torch has no call for one of them alone)."""
    import torch

    flushed = any(fp_mode().values())
    threads = torch.get_num_threads()
    if flushed:
        torch.set_flush_denormal(False)
    if threads != 1:
        torch.set_num_threads(1)
    try:
        if any(fp_mode().values()):
            raise FloatingPointModeError(
                "subnormals are flushed in this process (FTZ/DAZ, e.g. -ffast-math or "
                "torch.set_flush_denormal(True)) and the mode cannot be cleared: no exact reference"
            )
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(True)


# --- correctly rounded references ---


def sqrt_reference_via_float64(x):
    """``(reference, root64)``: the correctly rounded root of a float16/bfloat16/float32
    tensor ``x`` in its own dtype, and the float64 root used for ulp errors (NumPy's
    hardware float64 sqrt; see the module docstring). Computed with subnormals honoured."""
    import torch

    with ieee_mode(), np.errstate(invalid="ignore"):
        root64 = torch.from_numpy(np.sqrt(x.double().numpy()))
        return root64.to(x.dtype), root64


def float32_roots(values: np.ndarray) -> np.ndarray:
    """The correctly rounded roots of a float32 NumPy array by NumPy's float32 sqrt: the
    hardware ``sqrtps``/``sqrtss`` (``fsqrt`` on ARM), which IEEE 754 requires to be
    correctly rounded. The exhaustive sweep's fast path; self-checked like the others."""
    return np.sqrt(values)


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


def mpfr_rounded_roots(values: list[float], fmt: RealFormat) -> list[float]:
    """The correctly rounded ``fmt`` roots of positive finite ``values`` by MPFR at
    precision ``p``: one rounding, independent of the reference paths above."""
    import gmpy2

    context = gmpy2.context(precision=fmt.precision, emin=-(1 << 20), emax=1 << 20)
    return [float(context.sqrt(gmpy2.mpfr(v))) for v in values]
