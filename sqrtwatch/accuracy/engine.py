"""Check one implementation on one (dtype, device): the report object of DESIGN.md.

``check_accuracy`` is what the CLI and the asv suite call; it picks exhaustive or
sampled sweeps, runs the special-value table and, on request, the consistency checks.
"""

from __future__ import annotations

import time

from sqrtwatch.accuracy.formats import ALL_DTYPES, component_format, is_complex
from sqrtwatch.accuracy.tally import Fingerprint, Tally

# Formats small enough to sweep every bit pattern.
EXHAUSTIVE_DTYPES = ("float16", "bfloat16", "float32")
SAMPLE_CHUNK = 1 << 16  # small enough for a progress bar to move on float64 (MPFR per input)


class AccuracyError(RuntimeError):
    """The check cannot run as asked (bad dtype, implementation error)."""


class UnsupportedCell(AccuracyError):
    """This (implementation, dtype, device) does not exist here: absent device, no such dtype."""


def require_device(device: str, dtype: str) -> None:
    """Raise :class:`UnsupportedCell` unless ``device`` is present and supports ``dtype``."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise UnsupportedCell("device cuda is not available here (no CUDA build or no GPU)")
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise UnsupportedCell("device mps is not available here")
        if dtype in ("float64", "complex128"):
            raise UnsupportedCell(f"mps has no {dtype}")
    if device not in ("cpu", "cuda", "mps"):
        raise AccuracyError(f"unknown device {device!r}: use cpu, cuda or mps")


def effective_mode(dtype: str, mode: str) -> str:
    """``exhaustive`` only where every bit pattern is affordable; otherwise ``sample``."""
    return "exhaustive" if mode == "exhaustive" and dtype in EXHAUSTIVE_DTYPES else "sample"


def _sweep(fn, name: str, dtype: str, device: str, mode: str, samples: int) -> tuple[Tally, Fingerprint]:
    from sqrtwatch.accuracy.complex_eval import COMPLEX_CHUNK, evaluate_complex_chunk
    from sqrtwatch.accuracy.evaluate import evaluate_real_chunk
    from sqrtwatch.accuracy.exhaustive import sweep_exhaustive
    from sqrtwatch.accuracy.progress import chunk_progress
    from sqrtwatch.accuracy.sampling import complex_samples, patterns_to_tensor, sample_patterns

    fmt = component_format(dtype)
    if mode == "exhaustive":
        return sweep_exhaustive(fn, name, fmt, device)
    tally, fingerprint = Tally(), Fingerprint()
    if is_complex(dtype):
        values = complex_samples(fmt, samples)
        starts = range(0, values.size, COMPLEX_CHUNK)
        with chunk_progress(len(starts), f"{name} {dtype} sample") as advance:
            for start in starts:
                evaluate_complex_chunk(
                    fn, name, values[start : start + COMPLEX_CHUNK], fmt, device, tally, fingerprint
                )
                advance()
        return tally, fingerprint
    x = patterns_to_tensor(sample_patterns(fmt, samples), fmt)
    starts = range(0, x.numel(), SAMPLE_CHUNK)
    with chunk_progress(len(starts), f"{name} {dtype} sample") as advance:
        for start in starts:
            evaluate_real_chunk(fn, name, x[start : start + SAMPLE_CHUNK], fmt, device, tally, fingerprint)
            advance()
    return tally, fingerprint


def check_accuracy(
    impl: str = "torch.sqrt",
    dtype: str = "float32",
    device: str = "cpu",
    mode: str = "exhaustive",
    samples: int = 1 << 20,
    consistency: bool = False,
) -> dict:
    """Check ``impl`` bit for bit on ``dtype``/``device``; the DESIGN.md report object."""
    import torch

    from sqrtwatch.accuracy.evaluate import ImplOutputError
    from sqrtwatch.accuracy.report import build_report
    from sqrtwatch.accuracy.special import check_special_values
    from sqrtwatch.impls import load_impl

    if dtype not in ALL_DTYPES:
        raise AccuracyError(f"unknown dtype {dtype!r}: use one of {', '.join(ALL_DTYPES)}")
    require_device(device, dtype)
    fn = load_impl(impl)
    used_mode = effective_mode(dtype, mode)
    started = time.perf_counter()
    try:
        tally, fingerprint = _sweep(fn, impl, dtype, device, used_mode, samples)
        special = check_special_values(fn, impl, dtype, device)
    except NotImplementedError as exc:
        raise UnsupportedCell(f"{impl} does not support {dtype} on {device}: {exc}") from exc
    except (ImplOutputError, TypeError, RuntimeError) as exc:
        raise AccuracyError(f"{impl} failed on {dtype} ({device}): {exc}") from exc
    except (Exception, SystemExit) as exc:  # user code: any failure (exit included) is its report
        raise AccuracyError(f"{impl} failed on {dtype} ({device}): {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - started
    report = build_report(
        impl=impl,
        dtype=dtype,
        device=device,
        torch_version=torch.__version__,
        requested_mode=mode,
        mode=used_mode,
        tally=tally,
        fingerprint=fingerprint,
        special=special,
        elapsed_s=elapsed,
    )
    if consistency:
        from sqrtwatch.accuracy.consistency import check_consistency

        report["consistency"] = check_consistency(impl, dtype, device)
    return report
