"""Accuracy of square-root implementations as asv ``track_*`` benchmarks.

Every (device, dtype, impl) cell is checked once per run, in ``setup_cache``, by the
sqrtwatch accuracy engine; the track methods only return numbers from that report,
so accuracy is ingested, trended and alerted on like throughput. The full profile
sweeps float16, bfloat16 and float32 exhaustively; the quick profile samples float32.
With ``SQRTWATCH_DETAIL_DIR`` set, each cell's full report (worst input, special-value
failures, fingerprint, consistency) is written there as JSON for ``sqrtwatch run``.
"""

from __future__ import annotations

import json
import math
import os
import re
from itertools import product
from pathlib import Path

from . import common
from .common import DEVICES, DTYPES, active_profile, plugin_names

DETAIL_ENV_VAR = "SQRTWATCH_DETAIL_DIR"

BUILTIN_IMPLS = ["torch.sqrt", "torch.compile", "pow_half", "mul_rsqrt", "numpy"]

# Samples per sampled dtype (float64 and complex always; float32 in the quick profile).
SAMPLES: dict[str, dict[str, int | None]] = {
    "full": {"float32": None, "float64": 1 << 20, "complex64": 1 << 18, "complex128": 1 << 18},
    "quick": {"float32": 1 << 22, "float64": 1 << 15, "complex64": 1 << 12, "complex128": 1 << 12},
}
# torch.compile costs a compilation per dtype and tensor shape; the quick profile keeps one.
QUICK_COMPILE_DTYPES = {"float32"}


IMPLS = BUILTIN_IMPLS + plugin_names(BUILTIN_IMPLS)


def in_profile(profile: str, dtype: str, impl: str) -> bool:
    return profile == "full" or impl != "torch.compile" or dtype in QUICK_COMPILE_DTYPES


def detail_file_name(impl: str, dtype: str, device: str) -> str:
    """``accuracy-<impl>-<dtype>-<device>.json``, with ``module:function`` made file-safe."""
    safe_impl = re.sub(r"[^A-Za-z0-9._-]", "_", impl)
    return f"accuracy-{safe_impl}-{dtype}-{device}.json"


def check_cell(device: str, dtype: str, impl: str, profile: str) -> dict:
    """The engine's report for one cell, ``{"skipped": why}`` when it cannot run here, or
    ``{"error": why}`` when the implementation fails (that cell fails, the others run)."""
    from sqrtwatch.accuracy.engine import AccuracyError, UnsupportedCell, check_accuracy
    from sqrtwatch.impls import ImplError

    if not in_profile(profile, dtype, impl):
        return {"skipped": "outside the quick profile"}
    samples = SAMPLES[profile].get(dtype)
    mode = "exhaustive" if samples is None else "sample"
    try:
        return check_accuracy(impl, dtype, device, mode, samples or 1, consistency=profile == "full")
    except UnsupportedCell as exc:
        return {"skipped": str(exc)}
    except (AccuracyError, ImplError) as exc:
        return {"error": str(exc)}


def collect_reports(cells, profile: str, detail_dir: str | None) -> dict:
    """``{(device, dtype, impl): report}`` for ``cells``; each report also to ``detail_dir``."""
    reports = {}
    for device, dtype, impl in cells:
        report = check_cell(device, dtype, impl, profile)
        reports[(device, dtype, impl)] = report
        if detail_dir and "impl" in report:
            # A torch-matrix run (`sqrtwatch run --torch`) shares detail_dir between asv
            # environments and commits; asv names both to the processes of those environments.
            folder = Path(detail_dir, os.environ.get("ASV_ENV_NAME", ""), os.environ.get("ASV_COMMIT", ""))
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / detail_file_name(impl, dtype, device)
            path.write_text(json.dumps(report, indent=2, allow_nan=False))
    return reports


class Accuracy:
    """Mismatches and ulp errors of each implementation against correctly rounded sqrt."""

    params = [DEVICES, DTYPES, IMPLS]
    param_names = ["device", "dtype", "impl"]
    version = "sqrtwatch-accuracy-1"
    timeout = 7200  # setup_cache sweeps every cell; the full profile takes minutes

    def setup_cache(self):
        return collect_reports(
            product(DEVICES, DTYPES, IMPLS), active_profile(), os.environ.get(DETAIL_ENV_VAR)
        )

    def setup(self, reports, device, dtype, impl):
        report = reports[(device, dtype, impl)]
        if "skipped" in report:
            raise NotImplementedError(report["skipped"])
        if "error" in report:
            raise RuntimeError(report["error"])  # asv records this cell as failed
        self.report = report

    @common.unit("count")
    def track_mismatches(self, reports, device, dtype, impl):
        return self.report["mismatches"]

    @common.unit("fraction")
    def track_mismatch_fraction(self, reports, device, dtype, impl):
        return self.report["mismatch_fraction"]

    @common.unit("ulp")
    def track_max_ulp(self, reports, device, dtype, impl):
        return _number(self.report["max_ulp"])

    @common.unit("ulp")
    def track_mean_ulp(self, reports, device, dtype, impl):
        return _number(self.report["mean_ulp"])

    @common.unit("count")
    def track_special_value_failures(self, reports, device, dtype, impl):
        return self.report["special_values"]["failed"]


def _number(value: float | None) -> float:
    return math.nan if value is None else value
