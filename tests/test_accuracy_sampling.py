"""Samples are stratified over every (sign, exponent) pair and include the hard cases."""

from __future__ import annotations

import numpy as np

from sqrtwatch.accuracy.inputs import complex_samples, sample_patterns
from sqrtwatch.accuracy.numerics import FORMATS


def test_every_sign_and_exponent_is_sampled_equally():
    fmt = FORMATS["float64"]
    patterns = sample_patterns(fmt, 1 << 15)
    assert patterns.size == 1 << 15
    strata = patterns >> np.uint64(fmt.mantissa_bits)  # sign and exponent field
    counts = np.bincount(strata.astype(np.int64), minlength=4096)
    assert counts.min() >= 1 and set(range(4096)) == set(np.unique(strata).tolist())


def test_hard_cases_are_in_the_sample():
    fmt = FORMATS["float64"]
    patterns = set(sample_patterns(fmt, 1 << 15).tolist())
    one = 0x3FF0000000000000
    assert {one - 1, one, one + 1, 1, 0x000FFFFFFFFFFFFF} <= patterns  # edges and subnormals
    # Some exact squares of 26-bit integers (scaled by powers of 4) with their neighbours.
    values = np.array(sorted(patterns), dtype=np.uint64).view(np.float64)
    finite = values[(values > 0) & np.isfinite(values)]
    mantissa, exponent = np.frexp(finite)
    scaled = np.ldexp(mantissa, 53 - (exponent % 2)).astype(np.int64)  # 52-53 bit integers
    roots = np.sqrt(scaled.astype(np.float64)).round().astype(np.int64)
    assert np.count_nonzero(roots * roots == scaled) > 100


def test_complex_samples_reach_the_hard_regions():
    values = complex_samples(FORMATS["float32"], 6000)
    re, im = np.abs(values.real), np.abs(values.imag)
    assert np.isfinite(values).all()
    assert (np.maximum(re, im) > 1e37).any() and (np.maximum(re, im) < 1e-37).any()
    assert ((re > 0) & (im > re * 2.0**40)).any() and ((im > 0) & (re > im * 2.0**40)).any()
    near_cut = (values.real < 0) & (im < 1e-30) & (im > 0)
    assert (near_cut & (values.imag > 0)).any() and (near_cut & (values.imag < 0)).any()
