"""The references are correctly rounded: checked against integer arithmetic and mpmath."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import torch

from sqrtwatch.accuracy.inputs import complex_samples, patterns_to_tensor, sample_patterns
from sqrtwatch.accuracy.numerics import (
    FORMATS,
    csqrt_reference,
    sqrt_reference_float64,
    sqrt_reference_via_float64,
)
from tests.test_accuracy_oracle import correctly_rounded_sqrt


def test_float64_reference_is_correctly_rounded_on_hard_cases():
    fmt = FORMATS["float64"]
    values = patterns_to_tensor(sample_patterns(fmt, 4096), fmt).numpy()
    positive = values[(values > 0) & np.isfinite(values)]
    chosen = positive[:: max(1, positive.size // 3000)]
    reference, remainder = sqrt_reference_float64(chosen)
    assert [correctly_rounded_sqrt(v, "float64") for v in chosen.tolist()] == reference.tolist()
    assert np.all(np.abs(remainder) <= np.spacing(reference) / 2)


def test_float64_reference_follows_ieee_for_specials():
    values = np.array([0.0, -0.0, -1.0, math.inf, -math.inf, math.nan])
    reference, _ = sqrt_reference_float64(values)
    assert reference[:2].tolist() == [0.0, -0.0] and math.copysign(1, reference[1]) == -1
    assert np.isnan(reference[[2, 4, 5]]).all() and reference[3] == math.inf


def test_float32_reference_through_float64_is_correctly_rounded():
    fmt = FORMATS["float32"]
    x = patterns_to_tensor(sample_patterns(fmt, 8192), fmt)
    x = x[(x > 0) & x.isfinite()][::4]
    reference, _ = sqrt_reference_via_float64(x)
    assert reference.double().tolist() == [correctly_rounded_sqrt(v, "float32") for v in x.double().tolist()]


def test_complex128_reference_agrees_with_mpmath():
    values = complex_samples(FORMATS["float64"], 600)[::3]
    reference, high, _ = csqrt_reference(values, FORMATS["float64"])
    with mpmath.workprec(300):
        expected = [mpmath.sqrt(mpmath.mpc(v.real, v.imag)) for v in values.tolist()]
    # mpmath rounds each 300-bit component to the nearest double when converted.
    assert reference.tolist() == [complex(float(e.real), float(e.imag)) for e in expected]
    assert np.array_equal(high, np.stack([reference.real, reference.imag], axis=1))


def test_complex64_reference_rounds_components_to_float32_with_subnormals():
    # sqrt(-4 + 2**-126 i) = 2**-128 + 2i (to far better than an ulp): 2**-128 is subnormal.
    reference, _, _ = csqrt_reference(np.array([complex(-4.0, 2.0**-126)]), FORMATS["float32"])
    assert reference[0] == complex(2.0**-128, 2.0)
    as_float32 = torch.tensor([reference[0].real], dtype=torch.float32)
    assert as_float32.item() == 2.0**-128
