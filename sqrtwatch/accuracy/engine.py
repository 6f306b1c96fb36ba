"""Check one implementation on one (dtype, device): the report object of DESIGN.md.

``check_accuracy`` is what the CLI and the asv suite call. In order: load the
implementation, probe the floating-point mode, self-check the reference, check the
hard-to-round set, sweep (exhaustive or sampled), run the special-value table and,
on request, the consistency checks.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import torch

from sqrtwatch.accuracy.consistency import check_consistency
from sqrtwatch.accuracy.inputs import (
    HARD_CASE_BOUND_LOG2,
    boundary_patterns,
    complex_samples,
    hard_cases,
    patterns_to_tensor,
    sample_patterns,
)
from sqrtwatch.accuracy.numerics import (
    ALL_DTYPES,
    FORMATS,
    FloatingPointModeError,
    RealFormat,
    component_format,
    float32_roots,
    fp_mode,
    ieee_mode,
    is_complex,
    mpfr_rounded_roots,
    sqrt_reference_float64,
    sqrt_reference_via_float64,
)
from sqrtwatch.accuracy.report import binade_rows, build_report
from sqrtwatch.accuracy.special import check_special_values
from sqrtwatch.accuracy.sweep import (
    COMPLEX_CHUNK,
    Fingerprint,
    ImplOutputError,
    RecordedOutputs,
    Tally,
    chunk_progress,
    evaluate_complex_chunk,
    evaluate_real_chunk,
    sweep_exhaustive,
)
from sqrtwatch.impls import load_impl
from sqrtwatch.vocabulary import DEVICES, MPS_UNSUPPORTED_DTYPES

# Formats small enough to sweep every bit pattern.
EXHAUSTIVE_DTYPES = ("float16", "bfloat16", "float32")
SAMPLE_CHUNK = 1 << 16  # small enough for a progress bar to move on float64 (MPFR per input)
SELF_CHECK_RANDOM = 2048  # random positive inputs in the self-check, besides edges and hard cases
SELF_CHECK_HARD = 2048  # hard cases in the self-check (evenly spaced through the set)


class AccuracyError(RuntimeError):
    """The check cannot run as asked (bad dtype, implementation error)."""


class UnsupportedCell(AccuracyError):
    """This (implementation, dtype, device) does not exist here: absent device, no such dtype."""


class ReferenceCheckError(AccuracyError):
    """The reference failed its self-check: no result of this run could be trusted."""


def require_device(device: str, dtype: str) -> None:
    """Raise :class:`UnsupportedCell` unless ``device`` is present and supports ``dtype``."""
    if device == "cuda" and not torch.cuda.is_available():
        raise UnsupportedCell("device cuda is not available here (no CUDA build or no GPU)")
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise UnsupportedCell("device mps is not available here")
        if dtype in MPS_UNSUPPORTED_DTYPES:
            raise UnsupportedCell(f"mps has no {dtype}")
    if device not in DEVICES:
        raise AccuracyError(f"unknown device {device!r}: use cpu, cuda or mps")


def effective_mode(dtype: str, mode: str) -> str:
    """``exhaustive`` only where every bit pattern is affordable; otherwise ``sample``."""
    return "exhaustive" if mode == "exhaustive" and dtype in EXHAUSTIVE_DTYPES else "sample"


# --- the reference's self-check ---


@cache
def self_check_inputs(fmt: RealFormat) -> tuple[np.ndarray, np.ndarray]:
    """``(patterns, expected roots)``: positive inputs with MPFR's correctly rounded roots:
    hard cases, binade edges and subnormals, and random patterns."""
    with ieee_mode():  # subnormal inputs must reach MPFR intact
        hard = hard_cases(fmt).patterns
        hard = hard[:: max(1, hard.size // SELF_CHECK_HARD)]
        random = sample_patterns(fmt, SELF_CHECK_RANDOM, seed=1)
        edges = np.array(boundary_patterns(fmt), dtype=np.uint64)
        patterns = np.unique(np.concatenate([hard, edges, random]))
        values = patterns_to_tensor(patterns, fmt).double().numpy()
        keep = (values > 0) & np.isfinite(values)
        patterns, values = patterns[keep], values[keep]
        return patterns, np.array(mpfr_rounded_roots(values.tolist(), fmt))


def reference_paths(fmt: RealFormat) -> dict:
    """The reference computations of ``fmt`` by name: tensor of inputs -> float64 roots."""
    if fmt is FORMATS["float64"]:
        return {"MPFR reference": lambda x: torch.from_numpy(sqrt_reference_float64(x.numpy())[0])}
    paths = {"float64 reference": lambda x: sqrt_reference_via_float64(x)[0].double()}
    if fmt is FORMATS["float32"]:
        paths["exhaustive fast path"] = lambda x: torch.from_numpy(float32_roots(x.numpy())).double()
    return paths


def self_check_reference(fmt: RealFormat, paths: dict | None = None) -> int:
    """Pass the self-check inputs through each reference path; the number of inputs.

    Raises :class:`ReferenceCheckError` naming the first input whose reference root is not
    MPFR's correctly rounded root."""
    patterns, expected = self_check_inputs(fmt)
    x = patterns_to_tensor(patterns, fmt)
    for path, reference in (paths or reference_paths(fmt)).items():
        try:
            with ieee_mode():  # the reference's own mode, as in every sweep
                got = reference(x).numpy()
        except FloatingPointModeError as exc:
            raise ReferenceCheckError(str(exc)) from exc
        wrong = np.flatnonzero(got != expected)
        if wrong.size:
            i = int(wrong[0])
            raise ReferenceCheckError(
                f"reference self-check failed for {fmt.name} ({path}): sqrt of input "
                f"{fmt.hex(int(patterns[i]))} gave {got[i]!r}, MPFR says {expected[i]!r} "
                f"({wrong.size} of {patterns.size} wrong); is the floating-point mode altered?"
            )
    return int(patterns.size)


# --- sweeps ---


def check_hard_cases(fn, name: str, fmt: RealFormat, device: str) -> dict:
    """The hard-to-round set on its own: ``{tested, mismatches, max_ulp, ...}``."""
    cases = hard_cases(fmt)
    tally = Tally()
    if cases.patterns.size:
        evaluate_real_chunk(
            fn, name, patterns_to_tensor(cases.patterns, fmt), fmt, device, tally, RecordedOutputs()
        )
    return {
        "tested": tally.inputs_tested,
        "mismatches": tally.mismatches,
        "max_ulp": tally.max_ulp,
        "worst_input_bits": None if tally.worst_input_bits is None else fmt.hex(tally.worst_input_bits),
        "bound_ulp": 2.0**HARD_CASE_BOUND_LOG2,
        "max_distance_ulp": float(cases.distances.max()) if cases.distances.size else None,
    }


def _sample_inputs(dtype: str, fmt: RealFormat, samples: int):
    """The sampled inputs: a complex128 array, or a tensor of the real dtype."""
    if is_complex(dtype):
        return complex_samples(fmt, samples)
    return patterns_to_tensor(sample_patterns(fmt, samples), fmt)


def _sweep(fn, name: str, dtype: str, device: str, inputs) -> tuple[Tally, Fingerprint]:
    """Every bit pattern when ``inputs`` is None, else the sampled ``inputs``."""
    fmt = component_format(dtype)
    if inputs is None:
        return sweep_exhaustive(fn, name, fmt, device)
    tally, fingerprint = Tally(), Fingerprint()
    chunk = COMPLEX_CHUNK if is_complex(dtype) else SAMPLE_CHUNK
    evaluate = evaluate_complex_chunk if is_complex(dtype) else evaluate_real_chunk
    starts = range(0, len(inputs), chunk)
    with chunk_progress(len(starts), f"{name} {dtype} sample") as advance:
        for start in starts:
            evaluate(fn, name, inputs[start : start + chunk], fmt, device, tally, fingerprint)
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
    if dtype not in ALL_DTYPES:
        raise AccuracyError(f"unknown dtype {dtype!r}: use one of {', '.join(ALL_DTYPES)}")
    require_device(device, dtype)
    fn = load_impl(impl)
    mode_before = fp_mode()  # after the import: an extension may have set FTZ/DAZ on load
    fmt = component_format(dtype)
    used_mode = effective_mode(dtype, mode)
    started = time.perf_counter()
    self_checked = self_check_reference(fmt)  # raises ReferenceCheckError, never wrapped below
    try:
        with ieee_mode():  # inputs are built in IEEE's mode, never a flushed one
            hard_cases(fmt)
            inputs = _sample_inputs(dtype, fmt, samples) if used_mode == "sample" else None
        hard = None if is_complex(dtype) else check_hard_cases(fn, impl, fmt, device)
        tally, fingerprint = _sweep(fn, impl, dtype, device, inputs)
        special = check_special_values(fn, impl, dtype, device)
    except FloatingPointModeError as exc:
        raise ReferenceCheckError(str(exc)) from exc
    except NotImplementedError as exc:
        raise UnsupportedCell(f"{impl} does not support {dtype} on {device}: {exc}") from exc
    except (ImplOutputError, TypeError, RuntimeError) as exc:
        raise AccuracyError(f"{impl} failed on {dtype} ({device}): {exc}") from exc
    except (Exception, SystemExit) as exc:  # user code: any failure (exit included) is its report
        raise AccuracyError(f"{impl} failed on {dtype} ({device}): {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - started
    mode_after = fp_mode()
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
    report["fp_mode"] = {key: mode_before[key] or mode_after[key] for key in mode_before} | {
        "reference": "computed with subnormals honoured",
        "reference_self_check": self_checked,
    }
    if hard is not None:
        report["hard_cases"] = hard
    if tally.binades is not None:
        report["by_binade"] = binade_rows(tally, fmt)
    if consistency:
        report["consistency"] = check_consistency(impl, dtype, device)
    return report
