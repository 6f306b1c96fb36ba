"""Consistency: does the same implementation give the same bits however it is called?

Counts of differing outputs between eager and
``torch.compile``, contiguous and strided input, one thread and all threads, and the
very first call in a fresh process and a warmed-up call (a first-call race in a math
library would show only there). The inputs are a fixed sample of the dtype. Each check
gives two counts: ``bitwise`` (any bit, NaN sign and payload included) and ``values``
(NaNs equal, as for mismatches), because a NaN-sign difference on every negative input
would otherwise hide a handful of wrongly rounded results.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from sqrtwatch.accuracy.inputs import complex_samples, patterns_to_tensor, sample_patterns
from sqrtwatch.accuracy.numerics import component_format, is_complex
from sqrtwatch.accuracy.sweep import complex_tensor, pattern_chunk
from sqrtwatch.impls import load_impl

CONSISTENCY_SAMPLES = 1 << 16


def consistency_inputs(dtype: str):
    """Every pattern of a 16-bit dtype, else a fixed stratified sample; a CPU tensor."""
    fmt = component_format(dtype)
    if is_complex(dtype):
        return complex_tensor(complex_samples(fmt, CONSISTENCY_SAMPLES), fmt)
    if fmt.bits == 16:
        return pattern_chunk(0, fmt.patterns, fmt)
    return patterns_to_tensor(sample_patterns(fmt, CONSISTENCY_SAMPLES), fmt)


def output_bits(result):
    """The bits of a result tensor as an integer tensor (complex: both components)."""
    result = result.detach().cpu().contiguous()
    if result.is_complex():
        result = torch.view_as_real(result)
    width = result.element_size() * 8
    return result.view({16: torch.int16, 32: torch.int32, 64: torch.int64}[width])


def _real_parts(result):
    result = result.detach().cpu()
    return torch.view_as_real(result) if result.is_complex() else result


def count_differences(a, b) -> dict[str, int]:
    """Outputs of ``a`` and ``b`` differing in any bit, and differing as values (NaNs equal)."""
    differs = output_bits(a) != output_bits(b)
    both_nan = _real_parts(a).isnan() & _real_parts(b).isnan()
    if differs.dim() > 1:  # complex: an output differs when either component does
        return {
            "bitwise": int(differs.any(dim=-1).sum()),
            "values": int((differs & ~both_nan).any(dim=-1).sum()),
        }
    return {"bitwise": int(differs.sum()), "values": int((differs & ~both_nan).sum())}


def strided_copy(x):
    """``x`` copied into every other element of a buffer twice as long: a strided view."""
    base = torch.zeros(x.numel() * 2, dtype=x.dtype, device=x.device)
    base[1::2] = x
    return base[1::2]


def _compiled_differences(fn, x, reference) -> dict[str, int] | str:
    try:
        compiled = torch.compile(fn, dynamic=False, fullgraph=False)
        return count_differences(compiled(x), reference)
    except Exception as exc:
        return f"torch.compile failed: {type(exc).__name__}: {exc}"[:300]


def fresh_process_output(impl: str, dtype: str, device: str):
    """The output of the first call of ``impl`` in a new Python process."""
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-fresh-") as tmp:
        out = Path(tmp) / "output.pt"
        subprocess.run(
            [sys.executable, "-m", "sqrtwatch.accuracy.consistency", impl, dtype, device, str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        return torch.load(out)


def check_consistency(impl: str, dtype: str, device: str) -> dict:
    """Bitwise-difference counts of ``impl`` on ``dtype`` between ways of calling it."""
    fn = load_impl(impl)
    x = consistency_inputs(dtype).to(device)
    fn(x)  # the first call, whatever it initializes, is done here
    warm = fn(x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one_thread = fn(x)
    finally:
        torch.set_num_threads(threads)
    try:
        fresh_differences: dict[str, int] | str = count_differences(
            fresh_process_output(impl, dtype, device), warm
        )
    except subprocess.CalledProcessError as exc:
        fresh_differences = f"fresh process failed: {exc.stderr.strip()[-300:]}"
    return {
        "inputs": x.numel(),
        "compile_vs_eager": _compiled_differences(fn, x, warm),
        "strided_vs_contiguous": count_differences(fn(strided_copy(x)), warm),
        "one_thread_vs_all": count_differences(one_thread, warm),
        "threads": threads,
        "fresh_process_vs_warm": fresh_differences,
    }


def _first_call_main(impl: str, dtype: str, device: str, out: str) -> None:
    """Entry point of the fresh process: build the inputs, call once, save the output."""
    x = consistency_inputs(dtype).to(device)
    torch.save(load_impl(impl)(x).cpu(), out)


if __name__ == "__main__":
    _first_call_main(*sys.argv[1:5])
