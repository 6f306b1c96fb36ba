"""The float32 fast paths give what the general path gives, chunk by chunk; the fingerprint."""

from __future__ import annotations

import pytest
import torch

from sqrtwatch.accuracy import sweep
from sqrtwatch.accuracy.numerics import FORMATS
from sqrtwatch.accuracy.sweep import Fingerprint, Tally, evaluate_real_chunk

F32 = FORMATS["float32"]
CHUNK = 1 << 16


def off_by_one_bit(x):
    """float32 sqrt with the last bit raised on every 5th input."""
    result = torch.sqrt(x).view(torch.int32).clone()
    result[::5] += 1
    return result.view(torch.float32)


def _general(fn, start):
    tally, fingerprint = Tally(), Fingerprint()
    evaluate_real_chunk(fn, "t", sweep.pattern_chunk(start, CHUNK, F32), F32, "cpu", tally, fingerprint)
    return tally, fingerprint


@pytest.mark.parametrize("fn", [torch.sqrt, off_by_one_bit], ids=["torch.sqrt", "off_by_one_bit"])
@pytest.mark.parametrize("start", [0x3F800000, 0x00800000, 0x7F7F0000, 0x40490000, 0xBF800000])
def test_fast_paths_agree_with_the_general_path(fn, start):
    _, fast_tally, outputs = sweep.check_chunk(fn, "t", start, CHUNK, F32, "cpu")
    general_tally, general_fingerprint = _general(fn, start)
    assert (fast_tally.inputs_tested, fast_tally.mismatches) == (
        general_tally.inputs_tested,
        general_tally.mismatches,
    )
    assert fast_tally.ulp_count == general_tally.ulp_count
    if general_tally.max_ulp is not None:
        assert fast_tally.max_ulp == pytest.approx(general_tally.max_ulp, rel=1e-12)
        assert fast_tally.ulp_sum == pytest.approx(general_tally.ulp_sum, rel=1e-9)
        worst = sweep.locate_worst(fn, "t", start, CHUNK, F32, "cpu")
        assert worst == general_tally.worst_input_bits
    fingerprint = Fingerprint()
    outputs.replay(fingerprint)
    if outputs.updates[0][0] == "constant":  # one repeated NaN is hashed as value and count
        assert start & F32.sign_mask
        assert fingerprint.hexdigest() != general_fingerprint.hexdigest()
    else:
        assert fingerprint.hexdigest() == general_fingerprint.hexdigest()


def test_fingerprint_sees_one_changed_bit():
    bits = torch.arange(1000, dtype=torch.int32)
    a, b = Fingerprint(), Fingerprint()
    a.update(bits)
    changed = bits.clone()
    changed[500] ^= 1
    b.update(changed)
    same = Fingerprint()
    same.update(bits.clone())
    assert a.hexdigest() == same.hexdigest() != b.hexdigest()
    assert a.hexdigest().startswith("sha256:")
