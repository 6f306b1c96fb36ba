"""Check complex square roots: bitwise per component, component-wise ulp, normwise error.

A complex result is a mismatch when either component is not bit-identical to the
correctly rounded component of the exact principal root (NaN equals NaN). Ulp errors
are per component (DESIGN.md's ulp, with ``ulp(0)`` the subnormal spacing), over
components whose exact value and computed value are finite; the worst input's bits
are the complex value's memory image read as one little-endian integer
(imaginary bits above the real bits).
"""

from __future__ import annotations

import numpy as np

from sqrtwatch.accuracy.evaluate import call_impl, mismatch_mask
from sqrtwatch.accuracy.formats import RealFormat
from sqrtwatch.accuracy.reference import csqrt_reference
from sqrtwatch.accuracy.tally import Fingerprint, Tally
from sqrtwatch.accuracy.ulp import errors_in_ulps

COMPLEX_CHUNK = 1 << 16


def complex_tensor(values: np.ndarray, fmt: RealFormat):
    """complex128 ``values`` (exact in ``fmt``) as a CPU tensor of the complex dtype of ``fmt``."""
    import torch

    return torch.from_numpy(values.astype(np.complex64 if fmt.bits == 32 else np.complex128))


def complex_input_bits(x, index: int, fmt: RealFormat) -> int:
    """The bit pattern of complex input ``index``: imaginary bits, then real bits."""
    import torch

    re_bits, im_bits = (fmt.unsigned(int(b)) for b in torch.view_as_real(x)[index].view(fmt.int_dtype()))
    return (im_bits << fmt.bits) | re_bits


def evaluate_complex_chunk(
    fn, name: str, values: np.ndarray, fmt: RealFormat, device: str, tally: Tally, fingerprint: Fingerprint
):
    """Check ``fn`` on finite complex ``values`` (complex128 array), updating ``tally``."""
    import torch

    x = complex_tensor(values, fmt)
    result = call_impl(fn, x, device, name)
    reference, high, low = csqrt_reference(values, fmt)
    parts = torch.view_as_real(result)  # (n, 2) of the component dtype
    ref_parts = torch.from_numpy(np.stack([reference.real, reference.imag], axis=1)).to(parts.dtype)
    differs = mismatch_mask(parts.contiguous(), ref_parts, fmt).any(dim=1)
    tally.add_counts(x.numel(), int(differs.sum()))

    high_t, low_t = torch.from_numpy(high), torch.from_numpy(low)
    abs_error = (parts.double() - high_t).sub_(low_t).abs_()
    eligible = ref_parts.isfinite() & parts.isfinite()
    errors = torch.where(eligible, errors_in_ulps(abs_error, ref_parts, fmt), -1.0)
    count = int(eligible.sum())
    if count:
        chunk_max, flat_index = errors.flatten().max(dim=0)
        worst = complex_input_bits(x, int(flat_index) // 2, fmt)
        tally.add_ulp_errors(count, float(errors.clamp(min=0).sum()), float(chunk_max), worst)

    exact_norm = torch.hypot(high_t[:, 0], high_t[:, 1])
    normwise = torch.hypot(abs_error[:, 0], abs_error[:, 1]) / exact_norm
    finite = eligible.all(dim=1) & (exact_norm > 0)
    if bool(finite.any()):
        kept = normwise[finite]
        tally.add_normwise_errors(kept.numel(), float(kept.sum()), float(kept.max()))
    fingerprint.update(parts.contiguous().view(fmt.int_dtype()))
