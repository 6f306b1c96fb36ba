"""Run an implementation on a chunk of real inputs and fold the outcome into a tally.

A *mismatch* is a result not bit-identical to the correctly rounded root (two NaNs
are equal whatever their sign or payload); ulp errors are taken as DESIGN.md defines.
"""

from __future__ import annotations

from sqrtwatch.accuracy.formats import FORMATS, RealFormat
from sqrtwatch.accuracy.reference import sqrt_reference_float64, sqrt_reference_via_float64
from sqrtwatch.accuracy.tally import Fingerprint, RecordedOutputs, Tally
from sqrtwatch.accuracy.ulp import errors_in_ulps


class ImplOutputError(RuntimeError):
    """The implementation returned something that is not a root of its input."""


def call_impl(fn, x, device: str, name: str):
    """``fn(x)`` computed on ``device`` and returned on the CPU, after checking its shape/dtype."""
    import torch

    # A copy, so that an implementation working in place (x.sqrt_()) cannot change the
    # inputs the reference is computed from; it is refused instead.
    given = x.to(device, copy=True)
    result = fn(given)
    if not _same_bits(given, x):
        raise ImplOutputError(
            f"{name} modified its input in place; an implementation must return a new tensor"
        )
    if not isinstance(result, torch.Tensor):
        raise ImplOutputError(f"{name} returned {type(result).__name__}, not a tensor")
    if result.dtype != x.dtype or result.shape != x.shape:
        raise ImplOutputError(
            f"{name} returned {result.dtype} of shape {tuple(result.shape)} "
            f"for {x.dtype} of shape {tuple(x.shape)}"
        )
    return result.cpu()


def _same_bits(given, original) -> bool:
    """Whether ``given`` (on any device) still holds exactly the bits of ``original`` (NaNs included)."""
    import torch

    given = given.cpu().contiguous()
    original = original.contiguous()
    return given.shape == original.shape and torch.equal(given.view(torch.uint8), original.view(torch.uint8))


def mismatch_mask(result, reference, fmt: RealFormat):
    """True where ``result`` is not bit-identical to ``reference``, NaNs counting as equal."""
    int_dtype = fmt.int_dtype()
    differs = result.view(int_dtype) != reference.view(int_dtype)
    return differs & ~(result.isnan() & reference.isnan())


def reference_and_error(x, result, fmt: RealFormat):
    """``(reference, abs_error)``: correctly rounded roots and ``|result - exact root|`` (float64)."""
    import torch

    if fmt is FORMATS["float64"]:
        ref, remainder = sqrt_reference_float64(x.numpy())
        reference = torch.from_numpy(ref)
        # (r - ref) is exact when r is near ref (Sterbenz); the remainder is tiny beside it.
        abs_error = (result - reference).sub_(torch.from_numpy(remainder)).abs_()
        return reference, abs_error
    reference, root64 = sqrt_reference_via_float64(x)
    return reference, (result.double() - root64).abs_()


def evaluate_real_chunk(
    fn, name: str, x, fmt: RealFormat, device: str, tally: Tally, fingerprint: Fingerprint | RecordedOutputs
):
    """Check ``fn`` on the real inputs ``x`` (CPU tensor of ``fmt``), updating ``tally``."""
    result = call_impl(fn, x, device, name)
    reference, abs_error = reference_and_error(x, result, fmt)
    tally.add_counts(x.numel(), int(mismatch_mask(result, reference, fmt).sum()))
    eligible = (reference > 0) & reference.isfinite() & result.isfinite()
    add_ulp_errors(tally, errors_in_ulps(abs_error, reference, fmt), eligible, x, fmt)
    fingerprint.update(result.view(fmt.int_dtype()))
    return result


def add_ulp_errors(tally: Tally, errors, eligible, x, fmt: RealFormat) -> None:
    """Fold the ulp ``errors`` of the ``eligible`` inputs among ``x`` into ``tally``."""
    import torch

    count = int(eligible.sum())
    if count == 0:
        return
    masked = torch.where(eligible, errors, -1.0)
    chunk_max, index = masked.max(dim=0)
    worst_bits = int(x.view(fmt.int_dtype())[index])
    tally.add_ulp_errors(count, float(masked.clamp(min=0).sum()), float(chunk_max), worst_bits)
