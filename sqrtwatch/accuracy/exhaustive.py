"""Exhaustive sweeps: every bit pattern of float16, bfloat16 (2**16) and float32 (2**32).

float32 streams through chunks of 2**20 patterns, checked by one worker thread per
core with single-threaded torch ops (no barrier between OpenMP threads per op, which
also holds up on a busy machine); the main thread folds the chunk tallies and feeds the
fingerprint in input order. A chunk never straddles a (sign, exponent) pair, which
gives two fast paths: a negative binade must give NaN everywhere, and a positive
binade has its roots in one binade, so its ulp is one constant and the worst input
can be found afterwards by re-checking the single chunk that holds it. Zeros,
subnormals, infinities and NaNs take the general path.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from sqrtwatch.accuracy.evaluate import call_impl, evaluate_real_chunk
from sqrtwatch.accuracy.formats import RealFormat
from sqrtwatch.accuracy.progress import chunk_progress
from sqrtwatch.accuracy.tally import Fingerprint, RecordedOutputs, Tally

CHUNK_PATTERNS = 1 << 20


def pattern_chunk(start: int, count: int, fmt: RealFormat):
    """The inputs with bit patterns ``start .. start+count-1`` (unsigned), as a CPU tensor."""
    import torch

    first = fmt.signed(start)  # a chunk never crosses the sign bit, so it stays monotonic
    return torch.arange(first, first + count, dtype=fmt.int_dtype()).view(fmt.torch_dtype())


@contextmanager
def _single_threaded_torch():
    """torch ops on one thread each while our own worker threads share the cores."""
    import torch

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
    with _single_threaded_torch() as workers, ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        with chunk_progress(len(starts), f"{name} {fmt.name} exhaustive") as advance:
            for start in starts:
                pending.append(pool.submit(_check_chunk, fn, name, start, chunk, fmt, device))
                if len(pending) > 2 * workers:  # bounded: outputs wait in memory until hashed
                    worst_chunk = _fold(pending.popleft().result(), tally, fingerprint, worst_chunk)
                    advance()
            while pending:
                worst_chunk = _fold(pending.popleft().result(), tally, fingerprint, worst_chunk)
                advance()
    if worst_chunk is not None and tally.worst_input_bits is None:
        tally.worst_input_bits = _locate_worst(fn, name, worst_chunk, chunk, fmt, device)
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


def _check_chunk(fn, name, start, chunk, fmt, device):
    """Check one chunk in a worker: ``(start, tally, recorded outputs)``."""
    x = pattern_chunk(start, chunk, fmt)
    chunk_tally, outputs = Tally(), RecordedOutputs()
    exponent_field = (start >> fmt.mantissa_bits) & fmt.exponent_field_max
    single_binade = chunk <= 1 << fmt.mantissa_bits and 0 < exponent_field < fmt.exponent_field_max
    if single_binade and start & fmt.sign_mask:
        _check_negative_binade(fn, name, x, fmt, device, chunk_tally, outputs)
    elif single_binade and not _check_positive_binade(
        fn, name, x, exponent_field, fmt, device, chunk_tally, outputs
    ):
        chunk_tally, outputs = Tally(), RecordedOutputs()
        evaluate_real_chunk(fn, name, x, fmt, device, chunk_tally, outputs)
    elif not single_binade:
        evaluate_real_chunk(fn, name, x, fmt, device, chunk_tally, outputs)
    return start, chunk_tally, outputs


def _check_negative_binade(fn, name, x, fmt, device, tally, outputs) -> None:
    """Negative normal inputs: every correct result is NaN, and none enters ulp statistics."""
    result = call_impl(fn, x, device, name)
    import torch

    bits = result.view(fmt.int_dtype())
    lowest, highest = torch.aminmax(bits)  # one pass, no boolean temporary
    if int(lowest) == int(highest):  # the usual case: one NaN pattern throughout
        tally.add_counts(x.numel(), 0 if math.isnan(float(result[0])) else x.numel())
        outputs.update_constant(int(bits[0]), bits.numel(), fmt.bits // 8)
    else:
        tally.add_counts(x.numel(), x.numel() - int(result.isnan().sum()))
        outputs.update(bits)


def _check_positive_binade(fn, name, x, exponent_field, fmt, device, tally, outputs) -> bool:
    """Positive normal inputs of one binade: roots in [2**e, 2**(e+1)), e = floor(exponent / 2).

    Returns False, leaving ``tally`` to be discarded, when a result is not finite."""
    import torch

    result = call_impl(fn, x, device, name)
    root64 = x.double().sqrt_()
    reference = root64.to(x.dtype)  # correctly rounded: see reference.py
    int_dtype = fmt.int_dtype()
    # The reference is finite and positive here, so a NaN result differs bitwise too.
    mismatches = int((result.view(int_dtype) != reference.view(int_dtype)).sum())
    deviation = root64.sub_(result)  # y - r, in float64, reusing the root's memory
    total = float(torch.linalg.vector_norm(deviation, ord=1))
    if not math.isfinite(total):
        return False
    ulps_per_unit = 2.0 ** (fmt.precision - 1 - (exponent_field - fmt.emax) // 2)
    largest = float(torch.linalg.vector_norm(deviation, ord=math.inf))
    tally.add_counts(x.numel(), mismatches)
    tally.add_ulp_errors(x.numel(), total * ulps_per_unit, largest * ulps_per_unit, None)
    outputs.update(result.view(int_dtype))
    return True


def _locate_worst(fn, name, start, chunk, fmt, device) -> int | None:
    """The first input of the chunk at ``start`` with the largest ulp error."""
    chunk_tally = Tally()
    evaluate_real_chunk(
        fn, name, pattern_chunk(start, chunk, fmt), fmt, device, chunk_tally, RecordedOutputs()
    )
    return chunk_tally.worst_input_bits
