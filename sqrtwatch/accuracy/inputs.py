"""Inputs: stratified samples, edge cases, and hard-to-round cases built by integer arithmetic.

Samples are stratified over every (sign, exponent) pair: a sample of 2**20 float64
inputs tests each of the 4096 pairs 256 times; binade boundaries, subnormal extremes
and exact squares with their neighbours are added.

Hard cases are inputs whose exact root lies within ``2**HARD_CASE_BOUND_LOG2`` ulp of a
rounding midpoint: where a sqrt that is not correctly rounded goes wrong. Random
inputs lie a median 0.25 ulp from one. With the root ``R`` of ``x = X * 2**E`` counted
in units of its ulp, ``(2R)**2 = X * 2**k`` for an integer ``k``; a midpoint is an odd
integer ``M = 2R`` rounded, so ``M*M + delta = X * 2**k`` with a small ``delta`` puts
``R`` ``delta / (4M)`` ulp from the midpoint ``M/2``. Such ``M`` are the square roots of
``-delta`` modulo ``2**k``, found by Hensel lifting (``delta = 7 mod 8``). Every
candidate's distance is measured with MPFR and kept only within the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sqrtwatch.accuracy.numerics import RealFormat, ieee_mode

HARD_CASE_BOUND_LOG2 = -20
# Normal inputs: hard mantissas found per exponent parity, and how many of them each
# binade gets (rotating, so that every mantissa appears across the binades).
HARD_MANTISSAS_PER_PARITY = 64
HARD_MANTISSAS_PER_BINADE = 16
# Subnormal inputs: the top binades searched and the cases wanted in each.
HARD_SUBNORMAL_BINADES = 8
HARD_CASES_PER_SUBNORMAL_BINADE = 4
HARD_DELTAS_TRIED = 2048  # per sign of delta
MPFR_DISTANCE_PRECISION = 256


@dataclass(frozen=True)
class HardCases:
    """Positive hard-case bit patterns (uint64) and each root's measured distance from
    its nearest midpoint, in ulps."""

    patterns: np.ndarray
    distances: np.ndarray


def _sqrt_mod_power_of_two(a: int, k: int) -> int:
    """An odd ``m`` with ``m * m = a (mod 2**k)``; ``a = 1 (mod 8)``, ``k >= 3``."""
    m = 1
    for i in range(3, k):  # m*m = a mod 2**i; the lift adds 2**(i-1) when bit i differs
        if ((m * m - a) >> i) & 1:
            m += 1 << (i - 1)
    return m & ((1 << k) - 1)


def near_midpoint_integers(precision: int, bits: int, exponent: int, limit: int) -> list[int]:
    """Up to ``limit`` integers ``X`` of ``bits`` bits whose root ``sqrt(X * 2**exponent)``
    may lie within the bound of a ``precision``-bit midpoint, by increasing ``|delta|``."""
    root_exponent = (bits - 1 + exponent) // 2  # floor(log2) of every root in the range
    k = exponent + 2 * precision - 2 * root_exponent  # (2R)**2 = X * 2**k
    modulus = 1 << k
    low, high = 1 << precision, 1 << (precision + 1)  # 2R, and so M, lies in [2**p, 2**(p+1))
    found: list[int] = []
    # |delta| / (4M) <= 2**bound needs |delta| <= 2**(p + 3 + bound) at most (M < 2**(p+1)).
    tries = min(HARD_DELTAS_TRIED, (1 << max(precision + 3 + HARD_CASE_BOUND_LOG2, 3)) // 8 + 1)
    for j in range(tries):
        for delta in (-(8 * j + 1), 8 * j + 7):
            m = _sqrt_mod_power_of_two(-delta % modulus, k)
            for root in {m, modulus - m, (m + modulus // 2) % modulus, (modulus // 2 - m) % modulus}:
                start = root + max(0, -(-(low - root) // modulus)) * modulus
                for midpoint in range(start, high, modulus):
                    x = (midpoint * midpoint + delta) >> k
                    if 1 << (bits - 1) <= x < 1 << bits:
                        found.append(x)
            if len(found) >= limit:
                return found[:limit]
    return found


def midpoint_distances(values: np.ndarray, fmt: RealFormat) -> np.ndarray:
    """MPFR: the distance in ulps from ``sqrt(v)`` to its nearest ``fmt`` rounding midpoint."""
    import gmpy2

    distances = np.empty(values.size)
    with gmpy2.context(gmpy2.get_context(), precision=MPFR_DISTANCE_PRECISION):
        half = gmpy2.mpfr(0.5)
        for i, value in enumerate(values.tolist()):
            root = gmpy2.sqrt(gmpy2.mpfr(value))
            exponent, _ = gmpy2.frexp(root)  # root = m * 2**exponent, 1/2 <= m < 1
            scaled = root * gmpy2.exp2(fmt.precision - exponent)  # in ulps: [2**(p-1), 2**p)
            distances[i] = float(abs(scaled - gmpy2.floor(scaled) - half))
    return distances


def _hard_normal_mantissas(fmt: RealFormat, parity: int) -> list[int]:
    """``p``-bit integers ``X`` whose roots of ``X * 2**(e - p + 1)`` lie within the bound
    for every binade ``e`` of this parity (the distance depends on the parity alone)."""
    m = fmt.mantissa_bits
    candidates = near_midpoint_integers(fmt.precision, fmt.precision, parity - m, HARD_MANTISSAS_PER_PARITY)
    distances = midpoint_distances(np.array([x * 2.0 ** (parity - m) for x in candidates]), fmt)
    return [x for x, d in zip(candidates, distances) if d <= 2.0**HARD_CASE_BOUND_LOG2]


@cache
def hard_cases(fmt: RealFormat) -> HardCases:
    """Positive inputs of ``fmt`` whose roots lie within ``2**HARD_CASE_BOUND_LOG2`` ulp of
    a midpoint: normal inputs of every binade (both exponent parities) and the top
    subnormal binades; none exist for float16/bfloat16 (every distance is >= 2**-14)."""
    p, m = fmt.precision, fmt.mantissa_bits
    if -(p + 3) > HARD_CASE_BOUND_LOG2:  # |delta| >= 1 keeps every root 2**-(p+3) ulp away or more
        return HardCases(np.zeros(0, dtype=np.uint64), np.zeros(0))
    patterns: list[int] = []
    parities = [_hard_normal_mantissas(fmt, parity) for parity in (0, 1)]
    for binade in range(fmt.emin, fmt.emax + 1):
        mantissas = parities[binade % 2]
        first = (binade * HARD_MANTISSAS_PER_BINADE) % max(len(mantissas), 1)
        chosen = (mantissas * 2)[first : first + min(HARD_MANTISSAS_PER_BINADE, len(mantissas))]
        biased = binade + fmt.emax
        patterns.extend((biased << m) | (x - (1 << m)) for x in chosen)
    for bits in range(m, max(m - HARD_SUBNORMAL_BINADES, 0), -1):
        patterns.extend(
            near_midpoint_integers(p, bits, fmt.smallest_subnormal_exponent, HARD_CASES_PER_SUBNORMAL_BINADE)
        )
    unique = np.unique(np.array(patterns, dtype=np.uint64))
    with ieee_mode():  # subnormal inputs must reach MPFR intact
        distances = midpoint_distances(_pattern_values(unique, fmt), fmt)
    kept = distances <= 2.0**HARD_CASE_BOUND_LOG2
    return HardCases(unique[kept], distances[kept])


def _pattern_values(patterns: np.ndarray, fmt: RealFormat) -> np.ndarray:
    """Positive bit patterns of ``fmt`` as exact float64 values."""
    return patterns_to_tensor(patterns, fmt).double().numpy()


DEFAULT_SEED = 20240229
# The exact-square family gets a 16th of the sample, within these bounds.
SQUARES_PER_SAMPLE = (64, 2048)


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
    low, high = SQUARES_PER_SAMPLE
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


def edge_case_patterns(fmt: RealFormat, rng: np.random.Generator, n: int) -> np.ndarray:
    """Binade boundaries, subnormal extremes, exact squares and their neighbours."""
    patterns = boundary_patterns(fmt) + _square_neighbourhoods(fmt, rng, _family_size(n))
    return np.unique(np.array(patterns, dtype=np.uint64))


def sample_patterns(fmt: RealFormat, n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """A reproducible sample of ``n`` patterns (more when ``n`` is below the number of
    strata plus edge cases): strata first, then the edge cases."""
    rng = np.random.default_rng(seed)
    edges = edge_case_patterns(fmt, rng, n)
    strata = stratified_patterns(fmt, max(n - edges.size, 1), rng)
    return np.concatenate([strata, edges])


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
