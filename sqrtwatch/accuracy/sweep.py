"""Sweeps: run an implementation over inputs and fold mismatches and ulp errors into tallies.

A *mismatch* is a result not bit-identical to the correctly rounded root (two NaNs are
equal whatever their sign or payload); ulp errors are DESIGN.md's. Exhaustive float32
streams through chunks of ``CHUNK_PATTERNS`` patterns, checked by one worker thread per
core with single-threaded torch ops; the main thread folds the chunk tallies and feeds
the fingerprint in input order. A chunk never straddles a (sign, exponent) pair, which
gives two fast paths: a negative binade must give NaN everywhere, and a positive normal
binade has its roots in one binade, so its ulp is one constant and the worst input can
be found afterwards by re-checking the single chunk that holds it. Zeros, subnormals,
infinities and NaNs take the general path, whose reference is computed with subnormals
honoured (:func:`~sqrtwatch.accuracy.numerics.ieee_mode`); the fast path needs no mode
change: its inputs, roots and errors are all normal float64 numbers.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from sqrtwatch.accuracy.numerics import (
    FORMATS,
    RealFormat,
    csqrt_reference,
    errors_in_ulps,
    float32_roots,
    ieee_mode,
    sqrt_reference_float64,
    sqrt_reference_via_float64,
)

CHUNK_PATTERNS = 1 << 18
COMPLEX_CHUNK = 1 << 16
FINGERPRINT_ALGORITHM = "sha256"  # hardware-accelerated on current x86 and ARM CPUs
# Sweeps with fewer chunks than this finish before a progress bar would be worth drawing.
MIN_CHUNKS_FOR_PROGRESS = 8


class ImplOutputError(RuntimeError):
    """The implementation returned something that is not a root of its input."""


# --- running totals ---


@dataclass
class BinadeTally:
    """Per binade of positive finite nonzero inputs (index: exponent minus the smallest
    subnormal exponent): inputs, mismatches and the largest ulp error (-1: none)."""

    fmt: RealFormat
    inputs: np.ndarray = field(init=False)
    mismatches: np.ndarray = field(init=False)
    max_ulp: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        size = self.fmt.emax - self.fmt.smallest_subnormal_exponent + 1
        self.inputs = np.zeros(size, dtype=np.int64)
        self.mismatches = np.zeros(size, dtype=np.int64)
        self.max_ulp = np.full(size, -1.0)

    def add(self, exponent: int, inputs: int, mismatches: int, max_ulp: float) -> None:
        i = exponent - self.fmt.smallest_subnormal_exponent
        self.inputs[i] += inputs
        self.mismatches[i] += mismatches
        self.max_ulp[i] = max(self.max_ulp[i], max_ulp)

    def add_elements(self, exponents, mismatched, errors) -> None:
        """Fold in per-element binade exponents, mismatch flags and ulp errors (tensors)."""
        index = exponents - self.fmt.smallest_subnormal_exponent
        size = self.inputs.size
        self.inputs += torch.bincount(index, minlength=size).numpy()
        self.mismatches += (
            torch.bincount(index, weights=mismatched.double(), minlength=size).numpy().astype(np.int64)
        )
        largest = torch.full((size,), -1.0, dtype=torch.float64).scatter_reduce_(0, index, errors, "amax")
        np.maximum(self.max_ulp, largest.numpy(), out=self.max_ulp)

    def merge(self, other: BinadeTally) -> None:
        self.inputs += other.inputs
        self.mismatches += other.mismatches
        np.maximum(self.max_ulp, other.max_ulp, out=self.max_ulp)


@dataclass
class Tally:
    """Counts and ulp statistics accumulated chunk by chunk.

    ``max_ulp``/``mean_ulp`` cover only inputs whose correct result is finite and
    positive and whose computed result is finite (DESIGN.md); the worst input is the
    first one reaching ``max_ulp``.
    """

    inputs_tested: int = 0
    mismatches: int = 0
    ulp_count: int = 0
    ulp_sum: float = 0.0
    max_ulp: float | None = None
    worst_input_bits: int | None = None
    # Complex dtypes only: |result - exact| / |exact| over inputs with a finite result.
    normwise_count: int = 0
    normwise_sum: float = 0.0
    normwise_max: float | None = None
    binades: BinadeTally | None = None  # real dtypes

    def add_counts(self, inputs: int, mismatches: int) -> None:
        self.inputs_tested += inputs
        self.mismatches += mismatches

    def add_ulp_errors(self, count: int, total: float, chunk_max: float, worst_bits: int | None) -> None:
        """Fold in one chunk's ulp errors: their number, sum, maximum and its input."""
        if count == 0:
            return
        self.ulp_count += count
        self.ulp_sum += total
        if self.max_ulp is None or chunk_max > self.max_ulp:
            self.max_ulp = chunk_max
            self.worst_input_bits = worst_bits

    def add_normwise_errors(self, count: int, total: float, chunk_max: float) -> None:
        if count == 0:
            return
        self.normwise_count += count
        self.normwise_sum += total
        self.normwise_max = chunk_max if self.normwise_max is None else max(self.normwise_max, chunk_max)

    def binade_tally(self, fmt: RealFormat) -> BinadeTally:
        if self.binades is None:
            self.binades = BinadeTally(fmt)
        return self.binades

    def merge(self, other: Tally) -> None:
        """Fold in the tally of a later chunk (order matters only for the worst input's tie)."""
        self.add_counts(other.inputs_tested, other.mismatches)
        if other.max_ulp is not None:
            self.add_ulp_errors(other.ulp_count, other.ulp_sum, other.max_ulp, other.worst_input_bits)
        if other.normwise_max is not None:
            self.add_normwise_errors(other.normwise_count, other.normwise_sum, other.normwise_max)
        if other.binades is not None:
            self.binade_tally(other.binades.fmt).merge(other.binades)

    @property
    def normwise_mean(self) -> float | None:
        return self.normwise_sum / self.normwise_count if self.normwise_count else None

    @property
    def mean_ulp(self) -> float | None:
        return self.ulp_sum / self.ulp_count if self.ulp_count else None

    @property
    def mismatch_fraction(self) -> float:
        return self.mismatches / self.inputs_tested if self.inputs_tested else 0.0


@dataclass
class Fingerprint:
    """A hash of every output bit of a sweep, in input order.

    Each chunk is fed either as its raw bytes or, when every output in it has the same
    bits (the NaNs of a negative range), as that one value and a count: the encoding
    is a function of the outputs alone, so equal fingerprints mean equal outputs.
    """

    _hash: hashlib._Hash = field(default_factory=lambda: hashlib.new(FINGERPRINT_ALGORITHM))

    def update(self, output_bits) -> None:
        """Feed one chunk's outputs (an integer tensor of their bit patterns, on the CPU)."""
        self._hash.update(b"R")
        self._hash.update(output_bits.contiguous().numpy())  # buffer, no copy

    def update_constant(self, value_bits: int, count: int, width_bytes: int) -> None:
        """Feed ``count`` outputs that all have the bit pattern ``value_bits``."""
        self._hash.update(b"C")
        self._hash.update(count.to_bytes(8, "little"))
        self._hash.update(value_bits.to_bytes(width_bytes, "little", signed=True))

    def hexdigest(self) -> str:
        return f"{FINGERPRINT_ALGORITHM}:{self._hash.hexdigest()}"


@dataclass
class RecordedOutputs:
    """Stands in for a :class:`Fingerprint` in a worker thread; replayed in input order later."""

    updates: list = field(default_factory=list)

    def update(self, output_bits) -> None:
        self.updates.append(("bits", output_bits))

    def update_constant(self, value_bits: int, count: int, width_bytes: int) -> None:
        self.updates.append(("constant", (value_bits, count, width_bytes)))

    def replay(self, fingerprint: Fingerprint) -> None:
        for kind, payload in self.updates:
            if kind == "bits":
                fingerprint.update(payload)
            else:
                fingerprint.update_constant(*payload)


@contextmanager
def chunk_progress(total: int, description: str):
    """Yield an ``advance()`` callable; draws a rich bar on standard error when it helps."""
    if total < MIN_CHUNKS_FOR_PROGRESS or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


# --- real inputs, one chunk ---


def call_impl(fn, x, device: str, name: str):
    """``fn(x)`` computed on ``device`` and returned on the CPU, after checking its shape/dtype."""
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
    if fmt is FORMATS["float64"]:
        ref, remainder = sqrt_reference_float64(x.numpy())
        reference = torch.from_numpy(ref)
        # (r - ref) is exact when r is near ref (Sterbenz); the remainder is tiny beside it.
        abs_error = (result - reference).sub_(torch.from_numpy(remainder)).abs_()
        return reference, abs_error
    reference, root64 = sqrt_reference_via_float64(x)
    return reference, (result.double() - root64).abs_()


def input_exponents(x):
    """``floor(log2(|x|))`` of finite nonzero inputs, subnormals included (int64 tensor)."""
    _, exponent = torch.frexp(x.double().abs())
    return exponent.long() - 1


def evaluate_real_chunk(fn, name: str, x, fmt: RealFormat, device: str, tally: Tally, fingerprint):
    """Check ``fn`` on the real inputs ``x`` (CPU tensor of ``fmt``), updating ``tally``."""
    result = call_impl(fn, x, device, name)
    with ieee_mode():  # the implementation ran in its own mode; the yardstick runs in IEEE's
        reference, abs_error = reference_and_error(x, result, fmt)
        mismatched = mismatch_mask(result, reference, fmt)
        tally.add_counts(x.numel(), int(mismatched.sum()))
        eligible = (reference > 0) & reference.isfinite() & result.isfinite()
        errors = errors_in_ulps(abs_error, reference, fmt)
        add_ulp_errors(tally, errors, eligible, x, fmt)
        positive = (x > 0) & x.isfinite()
        if bool(positive.any()):
            tally.binade_tally(fmt).add_elements(
                input_exponents(x[positive]),
                mismatched[positive],
                torch.where(eligible, errors, -1.0)[positive],
            )
    fingerprint.update(result.view(fmt.int_dtype()))
    return result


def add_ulp_errors(tally: Tally, errors, eligible, x, fmt: RealFormat) -> None:
    """Fold the ulp ``errors`` of the ``eligible`` inputs among ``x`` into ``tally``."""
    count = int(eligible.sum())
    if count == 0:
        return
    masked = torch.where(eligible, errors, -1.0)
    chunk_max, index = masked.max(dim=0)
    worst_bits = int(x.view(fmt.int_dtype())[index])
    tally.add_ulp_errors(count, float(masked.clamp(min=0).sum()), float(chunk_max), worst_bits)


# --- complex inputs, one chunk ---
# A complex result is a mismatch when either component is not bit-identical to the
# correctly rounded component of the exact principal root (NaN equals NaN). Ulp errors
# are per component (``ulp(0)`` the subnormal spacing), over components whose exact and
# computed values are finite; the worst input's bits are the complex value's memory
# image read as one little-endian integer (imaginary bits above the real bits).


def complex_tensor(values: np.ndarray, fmt: RealFormat):
    """complex128 ``values`` (exact in ``fmt``) as a CPU tensor of the complex dtype of ``fmt``."""
    return torch.from_numpy(values.astype(np.complex64 if fmt.bits == 32 else np.complex128))


def complex_input_bits(x, index: int, fmt: RealFormat) -> int:
    """The bit pattern of complex input ``index``: imaginary bits, then real bits."""
    re_bits, im_bits = (fmt.unsigned(int(b)) for b in torch.view_as_real(x)[index].view(fmt.int_dtype()))
    return (im_bits << fmt.bits) | re_bits


def evaluate_complex_chunk(
    fn, name: str, values: np.ndarray, fmt: RealFormat, device: str, tally: Tally, fingerprint: Fingerprint
):
    """Check ``fn`` on finite complex ``values`` (complex128 array), updating ``tally``."""
    with ieee_mode():  # rounding to complex64 must keep subnormal components
        x = complex_tensor(values, fmt)
    result = call_impl(fn, x, device, name)
    reference, high, low = csqrt_reference(values, fmt)
    parts = torch.view_as_real(result)  # (n, 2) of the component dtype
    with ieee_mode():
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


# --- exhaustive sweeps: every bit pattern ---


def pattern_chunk(start: int, count: int, fmt: RealFormat):
    """The inputs with bit patterns ``start .. start+count-1`` (unsigned), as a CPU tensor."""
    first = fmt.signed(start)  # a chunk never crosses the sign bit, so it stays monotonic
    return torch.arange(first, first + count, dtype=fmt.int_dtype()).view(fmt.torch_dtype())


@contextmanager
def _single_threaded_torch():
    """torch ops on one thread each while our own worker threads share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)


def sweep_exhaustive(fn, name: str, fmt: RealFormat, device: str) -> tuple[Tally, Fingerprint]:
    """Check ``fn`` on every bit pattern of ``fmt``."""
    tally, fingerprint = Tally(), Fingerprint()
    chunk = min(CHUNK_PATTERNS, fmt.patterns)
    starts = range(0, fmt.patterns, chunk)
    if len(starts) == 1:
        evaluate_real_chunk(fn, name, pattern_chunk(0, chunk, fmt), fmt, device, tally, fingerprint)
        return tally, fingerprint
    worst_chunk = None
    for parity in (0, 1):  # before the workers start, so that neither computes it twice
        rounding_errors_by_chunk(fmt, parity, chunk)
    with _single_threaded_torch() as workers, ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        with chunk_progress(len(starts), f"{name} {fmt.name} exhaustive") as advance:
            for start in starts:
                pending.append(pool.submit(check_chunk, fn, name, start, chunk, fmt, device))
                if len(pending) > 2 * workers:  # bounded: outputs wait in memory until hashed
                    worst_chunk = _fold(pending.popleft().result(), tally, fingerprint, worst_chunk)
                    advance()
            while pending:
                worst_chunk = _fold(pending.popleft().result(), tally, fingerprint, worst_chunk)
                advance()
    if worst_chunk is not None and tally.worst_input_bits is None:
        tally.worst_input_bits = locate_worst(fn, name, worst_chunk, chunk, fmt, device)
    return tally, fingerprint


def _fold(outcome, tally: Tally, fingerprint: Fingerprint, worst_chunk):
    """Merge one chunk into the totals, in input order; track the chunk holding the max."""
    start, chunk_tally, outputs = outcome
    before = tally.max_ulp
    tally.merge(chunk_tally)
    outputs.replay(fingerprint)
    if tally.max_ulp is not None and (before is None or tally.max_ulp > before):
        worst_chunk = start
        tally.worst_input_bits = chunk_tally.worst_input_bits  # None on the fast path
    return worst_chunk


def check_chunk(fn, name, start, chunk, fmt, device):
    """Check one chunk in a worker: ``(start, tally, recorded outputs)``."""
    x = pattern_chunk(start, chunk, fmt)
    chunk_tally, outputs = Tally(), RecordedOutputs()
    exponent_field = (start >> fmt.mantissa_bits) & fmt.exponent_field_max
    single_binade = chunk <= 1 << fmt.mantissa_bits and 0 < exponent_field < fmt.exponent_field_max
    if single_binade and start & fmt.sign_mask:
        _check_negative_binade(fn, name, x, fmt, device, chunk_tally, outputs)
    elif single_binade and not _check_positive_binade(
        fn, name, x, start, exponent_field, fmt, device, chunk_tally, outputs
    ):
        chunk_tally, outputs = Tally(), RecordedOutputs()
        evaluate_real_chunk(fn, name, x, fmt, device, chunk_tally, outputs)
    elif not single_binade:
        evaluate_real_chunk(fn, name, x, fmt, device, chunk_tally, outputs)
    return start, chunk_tally, outputs


def _check_negative_binade(fn, name, x, fmt, device, tally, outputs) -> None:
    """Negative normal inputs: every correct result is NaN, and none enters ulp statistics."""
    result = call_impl(fn, x, device, name)
    bits = result.view(fmt.int_dtype())
    lowest, highest = torch.aminmax(bits)  # one pass, no boolean temporary
    if int(lowest) == int(highest):  # the usual case: one NaN pattern throughout
        tally.add_counts(x.numel(), 0 if math.isnan(float(result[0])) else x.numel())
        outputs.update_constant(int(bits[0]), bits.numel(), fmt.bits // 8)
    else:
        tally.add_counts(x.numel(), x.numel() - int(result.isnan().sum()))
        outputs.update(bits)


@cache
def rounding_errors_by_chunk(fmt: RealFormat, parity: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sums, maxima)`` of ``|y - RN(y)|`` in ulps over each ``chunk`` of a positive
    normal binade of exponent ``parity`` (mod 2), ``y`` the exact root.

    Scaling a binade by 4 scales its roots and their ulps by 2, so these are the same
    for every binade of that parity: what a correctly rounded result contributes to
    the ulp statistics, computed once per sweep from the float64 root."""
    first = (fmt.emax + parity) << fmt.mantissa_bits  # the binade [2**parity, 2**(parity+1))
    x = pattern_chunk(first, 1 << fmt.mantissa_bits, fmt).numpy()
    root64 = np.sqrt(x, dtype=np.float64)  # roots in [1, 2): one ulp is 2**-(p-1)
    errors = np.abs(root64 - float32_roots(x)) * 2.0 ** (fmt.precision - 1)
    per_chunk = errors.reshape(-1, chunk)
    return per_chunk.sum(axis=1), per_chunk.max(axis=1)


def _check_positive_binade(fn, name, x, start, exponent_field, fmt, device, tally, outputs) -> bool:
    """Positive normal float32 inputs of one binade: roots in [2**e, 2**(e+1)), e = floor(exponent / 2).

    Where the result is the reference, its ulp error is the reference's own rounding
    error, summed in advance (:func:`rounding_errors_by_chunk`); only mismatching
    inputs need their float64 roots. A mismatch is more than 0.5 ulp off and a correct
    result at most 0.5, so the chunk's maximum is a mismatch's whenever there is one.
    Returns False, leaving ``tally`` to be discarded, when a result is not finite."""
    result = call_impl(fn, x, device, name)
    r, xn = result.numpy(), x.numpy()
    reference = float32_roots(xn)
    # The reference is finite and positive here, so a NaN result differs bitwise too.
    mismatched = np.flatnonzero(r.view(np.int32) != reference.view(np.int32))
    sums, maxima = rounding_errors_by_chunk(fmt, (exponent_field - fmt.emax) % 2, x.numel())
    position = (start & ((1 << fmt.mantissa_bits) - 1)) // x.numel()
    total, largest = float(sums[position]), float(maxima[position])
    if mismatched.size:
        root64 = np.sqrt(xn[mismatched], dtype=np.float64)
        wrong = np.abs(root64 - r[mismatched])
        right = np.abs(root64 - reference[mismatched])
        ulps_per_unit = 2.0 ** (fmt.precision - 1 - (exponent_field - fmt.emax) // 2)
        wrong_total = float(wrong.sum())
        if not math.isfinite(wrong_total):
            return False
        total += (wrong_total - float(right.sum())) * ulps_per_unit
        largest = float(wrong.max()) * ulps_per_unit
    tally.add_counts(x.numel(), mismatched.size)
    tally.add_ulp_errors(x.numel(), total, largest, None)
    tally.binade_tally(fmt).add(exponent_field - fmt.emax, x.numel(), mismatched.size, largest)
    outputs.update(result.view(fmt.int_dtype()))
    return True


def locate_worst(fn, name, start, chunk, fmt, device) -> int | None:
    """The first input of the chunk at ``start`` with the largest ulp error."""
    chunk_tally = Tally()
    evaluate_real_chunk(
        fn, name, pattern_chunk(start, chunk, fmt), fmt, device, chunk_tally, RecordedOutputs()
    )
    return chunk_tally.worst_input_bits
