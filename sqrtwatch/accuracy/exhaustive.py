"""Exhaustive sweeps: every bit pattern of float16, bfloat16 (2**16) and float32 (2**32).

float32 streams through chunks of 2**20 patterns. A chunk never straddles a
(sign, exponent) pair, which gives two fast paths: a negative binade must give NaN
everywhere, and a positive binade has square roots in a single binade, so its ulp is
one constant. Zeros, subnormals, infinities and NaNs take the general path.
"""

from __future__ import annotations

import math

from sqrtwatch.accuracy.evaluate import add_ulp_errors, call_impl, evaluate_real_chunk
from sqrtwatch.accuracy.formats import RealFormat
from sqrtwatch.accuracy.progress import chunk_progress
from sqrtwatch.accuracy.tally import Fingerprint, Tally

CHUNK_PATTERNS = 1 << 20


def pattern_chunk(start: int, count: int, fmt: RealFormat):
    """The inputs with bit patterns ``start .. start+count-1`` (unsigned), as a CPU tensor."""
    import torch

    first = fmt.signed(start)  # a chunk never crosses the sign bit, so it stays monotonic
    return torch.arange(first, first + count, dtype=fmt.int_dtype()).view(fmt.torch_dtype())


def sweep_exhaustive(fn, name: str, fmt: RealFormat, device: str) -> tuple[Tally, Fingerprint]:
    """Check ``fn`` on every bit pattern of ``fmt``."""
    tally, fingerprint = Tally(), Fingerprint()
    chunk = min(CHUNK_PATTERNS, fmt.patterns)
    with chunk_progress(fmt.patterns // chunk, f"{name} {fmt.name} exhaustive") as advance:
        for start in range(0, fmt.patterns, chunk):
            x = pattern_chunk(start, chunk, fmt)
            exponent_field = (start >> fmt.mantissa_bits) & fmt.exponent_field_max
            single_binade = chunk <= 1 << fmt.mantissa_bits and 0 < exponent_field < fmt.exponent_field_max
            if single_binade and start & fmt.sign_mask:
                _check_negative_binade(fn, name, x, fmt, device, tally, fingerprint)
            elif single_binade:
                _check_positive_binade(fn, name, x, exponent_field, fmt, device, tally, fingerprint)
            else:
                evaluate_real_chunk(fn, name, x, fmt, device, tally, fingerprint)
            advance()
    return tally, fingerprint


def _check_negative_binade(fn, name, x, fmt, device, tally, fingerprint) -> None:
    """Negative normal inputs: every correct result is NaN, and none enters ulp statistics."""
    result = call_impl(fn, x, device, name)
    tally.add_counts(x.numel(), x.numel() - int(result.isnan().sum()))
    bits = result.view(fmt.int_dtype())
    if bool((bits == bits[0]).all()):
        fingerprint.update_constant(int(bits[0]), bits.numel(), fmt.bits // 8)
    else:
        fingerprint.update(bits)


def _check_positive_binade(fn, name, x, exponent_field, fmt, device, tally, fingerprint) -> None:
    """Positive normal inputs of one binade: roots in [2**e, 2**(e+1)), e = floor(exponent / 2)."""
    result = call_impl(fn, x, device, name)
    root64 = x.double().sqrt_()
    reference = root64.to(x.dtype)  # correctly rounded: see reference.py
    int_dtype = fmt.int_dtype()
    # The reference is finite and positive here, so any NaN result differs bitwise too.
    tally.add_counts(x.numel(), int((result.view(int_dtype) != reference.view(int_dtype)).sum()))
    root_exponent = (exponent_field - fmt.emax) // 2
    errors = result.double().sub_(root64).abs_().mul_(2.0 ** (fmt.precision - 1 - root_exponent))
    total = float(errors.sum())
    if math.isfinite(total):  # every result finite: no masking pass needed
        chunk_max, index = errors.max(dim=0)
        tally.add_ulp_errors(x.numel(), total, float(chunk_max), int(x.view(int_dtype)[index]))
    else:
        add_ulp_errors(tally, errors, result.isfinite(), x, fmt)
    fingerprint.update(result.view(int_dtype))
