"""Sampled inputs: stratified over every (sign, exponent) pair, plus known hard cases.

Uniform random bit patterns would already visit every exponent equally often; the
strata make it exact, so a sample of 2**20 float64 inputs tests each of the 4096
(sign, exponent) pairs 256 times. The hard cases aim where rounding goes wrong:
binade boundaries, exact squares and their neighbours, inputs whose root lies
next to a rounding midpoint, and subnormals.
"""

from __future__ import annotations

import numpy as np

from sqrtwatch.accuracy.formats import RealFormat

DEFAULT_SEED = 20240229
# Each random hard-case family gets a 16th of the sample, within these bounds.
HARD_CASES_PER_FAMILY = (64, 2048)


def _random_mantissas(rng: np.random.Generator, fmt: RealFormat, n: int) -> np.ndarray:
    return rng.integers(0, 1 << fmt.mantissa_bits, size=n, dtype=np.uint64)


def _compose(sign: np.ndarray, exponent: np.ndarray, mantissa: np.ndarray, fmt: RealFormat) -> np.ndarray:
    sign = np.asarray(sign, dtype=np.uint64) << np.uint64(fmt.bits - 1)
    exponent = np.asarray(exponent, dtype=np.uint64) << np.uint64(fmt.mantissa_bits)
    return sign | exponent | np.asarray(mantissa, dtype=np.uint64)


def stratified_patterns(fmt: RealFormat, n: int, rng: np.random.Generator) -> np.ndarray:
    """About ``n`` bit patterns (unsigned, uint64), equally many per (sign, exponent) pair."""
    strata = 2 << fmt.exponent_bits
    counts = np.full(strata, max(1, n // strata), dtype=np.int64)
    if n > strata:  # spread the remainder over randomly chosen strata
        counts[rng.choice(strata, size=n % strata, replace=False)] += 1
    stratum = np.repeat(np.arange(strata, dtype=np.uint64), counts)
    sign, exponent = stratum >> np.uint64(fmt.exponent_bits), stratum & np.uint64(fmt.exponent_field_max)
    return _compose(sign, exponent, _random_mantissas(rng, fmt, stratum.size), fmt)


def _family_size(n: int) -> int:
    low, high = HARD_CASES_PER_FAMILY
    return min(high, max(low, n // 16))


def _square_neighbourhoods(fmt: RealFormat, rng: np.random.Generator, count: int) -> list[int]:
    """Exact squares of floats with at most ``p // 2`` significant bits, and their neighbours."""
    half = fmt.precision // 2
    patterns = []
    for _ in range(count):
        root_mantissa = int(rng.integers(1 << (half - 1), 1 << half))
        square = root_mantissa * root_mantissa  # at most p bits: exactly representable
        exponent = int(rng.integers(fmt.emin // 2 + 1, (fmt.emax - fmt.precision) // 2))
        patterns.extend(_float_neighbours(float(square) * 2.0 ** (2 * exponent), fmt))
    return patterns


def _midpoint_neighbourhoods(fmt: RealFormat, rng: np.random.Generator, count: int) -> list[int]:
    """Floats nearest the squares of rounding midpoints: their roots sit next to a tie."""
    p = fmt.precision
    patterns = []
    for _ in range(count):
        midpoint = 2 * int(rng.integers(1 << (p - 1), 1 << p)) + 1  # p + 1 bits, odd
        square = midpoint * midpoint
        shift = square.bit_length() - p
        mantissa = square >> shift  # p bits, truncated
        # x = mantissa * 2**exponent ~ midpoint**2 * 2**(exponent - shift): an even power
        # of two keeps the root next to the midpoint; the range keeps x normal.
        low, high = (fmt.emin - p + 1 - shift) // 2 + 1, (fmt.emax - p + 1 - shift) // 2
        exponent = 2 * int(rng.integers(low, high)) + shift
        for m in (mantissa, mantissa + 1):
            if m < 1 << p:
                patterns.append(_pattern_of_scaled_integer(m, exponent, fmt))
    return patterns


def _pattern_of_scaled_integer(mantissa: int, exponent: int, fmt: RealFormat) -> int:
    """Bit pattern of the normal float ``mantissa * 2**exponent``, ``mantissa`` of exactly p bits."""
    biased = exponent + fmt.mantissa_bits + fmt.emax
    return (biased << fmt.mantissa_bits) | (mantissa & ((1 << fmt.mantissa_bits) - 1))


def _float_neighbours(value: float, fmt: RealFormat) -> list[int]:
    """The pattern of ``value`` (exact in ``fmt``) and the two patterns on each side of it."""
    pattern = _pattern_of_value(value, fmt)
    return [pattern + delta for delta in (-2, -1, 0, 1, 2) if 0 < pattern + delta < _infinity(fmt)]


def _pattern_of_value(value: float, fmt: RealFormat) -> int:
    import torch

    tensor = torch.tensor([value], dtype=torch.float64).to(fmt.torch_dtype())
    return fmt.unsigned(int(tensor.view(fmt.int_dtype())[0]))


def _infinity(fmt: RealFormat) -> int:
    return fmt.exponent_field_max << fmt.mantissa_bits


def boundary_patterns(fmt: RealFormat) -> list[int]:
    """Every power of two (normal and subnormal) and its two neighbours on each side."""
    patterns: list[int] = []
    for exponent_field in range(1, fmt.exponent_field_max):
        base = exponent_field << fmt.mantissa_bits
        patterns.extend(base + delta for delta in (-2, -1, 0, 1, 2))
    patterns.extend(1 << k for k in range(fmt.mantissa_bits))  # subnormal powers of two
    smallest_normal = 1 << fmt.mantissa_bits
    patterns.extend([1, 2, 3, smallest_normal - 1, smallest_normal - 2])  # subnormal extremes
    return [p for p in patterns if 0 < p < _infinity(fmt)]


def hard_case_patterns(fmt: RealFormat, rng: np.random.Generator, n: int) -> np.ndarray:
    """Binade boundaries, squares and their neighbours, near-midpoint roots, subnormals."""
    count = _family_size(n)
    patterns = (
        boundary_patterns(fmt)
        + _square_neighbourhoods(fmt, rng, count)
        + _midpoint_neighbourhoods(fmt, rng, count)
    )
    return np.unique(np.array(patterns, dtype=np.uint64))


def sample_patterns(fmt: RealFormat, n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """A reproducible sample of ``n`` patterns (more when ``n`` is below the number of
    strata plus hard cases): strata first, then the hard cases."""
    rng = np.random.default_rng(seed)
    hard = hard_case_patterns(fmt, rng, n)
    strata = stratified_patterns(fmt, max(n - hard.size, 1), rng)
    return np.concatenate([strata, hard])


def patterns_to_tensor(patterns: np.ndarray, fmt: RealFormat):
    """Unsigned bit patterns (uint64 array) as a CPU tensor of ``fmt``."""
    import torch

    signed = patterns.astype(np.uint64).view(np.int64)
    if fmt.bits < 64:  # the sign bit of a narrower format is an ordinary bit of int64
        signed = np.where(signed >= fmt.sign_mask, signed - fmt.patterns, signed)
    return torch.from_numpy(signed).to(fmt.int_dtype()).view(fmt.torch_dtype())


def complex_samples(fmt: RealFormat, n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """About ``n`` finite complex inputs with components of ``fmt``, as complex128.

    Half are stratified (independent random exponents for both parts); the rest cover
    the hard regions: huge and tiny magnitudes, re << im, im << re, and the negative
    real axis with tiny imaginary parts of both signs (the branch cut's neighbourhood).
    """
    rng = np.random.default_rng(seed)
    k = max(n // 8, 1)  # eight groups of k below

    def parts(low: int, high: int, size: int) -> np.ndarray:
        exponent = rng.integers(low, high, size=size)
        mantissa = 1.0 + rng.random(size)
        return rng.choice([-1.0, 1.0], size=size) * np.ldexp(mantissa, exponent)

    subnormal_low = fmt.emin - fmt.mantissa_bits
    full = (subnormal_low, fmt.emax)
    finite = lambda a: np.clip(a, -_largest(fmt), _largest(fmt))  # noqa: E731
    re = [parts(*full, 3 * k), parts(fmt.emax - 8, fmt.emax, k), parts(subnormal_low, fmt.emin + 8, k)]
    im = [parts(*full, 3 * k), parts(fmt.emax - 8, fmt.emax, k), parts(subnormal_low, fmt.emin + 8, k)]
    # re << im and im << re: one part many binades below the other.
    small, big = parts(subnormal_low, fmt.emin // 2, k), parts(0, fmt.emax // 2, k)
    re += [small, big]
    im += [big, small]
    # Negative real axis, imaginary parts tiny and of either sign.
    re.append(-np.abs(parts(fmt.emin // 2, fmt.emax // 2, k)))
    im.append(parts(subnormal_low, fmt.emin + fmt.precision, k))
    values = finite(np.concatenate(re)) + 1j * finite(np.concatenate(im))
    dtype = np.complex64 if fmt.bits == 32 else np.complex128
    return values.astype(dtype).astype(np.complex128)  # round the components to fmt


def _largest(fmt: RealFormat) -> float:
    return (2.0 - 2.0**-fmt.mantissa_bits) * 2.0**fmt.emax
