"""The accuracy report object (DESIGN.md ``accuracy --format json``), its text table,
the precision picture by binade, and ``sqrtwatch accuracy``."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import click

from sqrtwatch.accuracy.numerics import ALL_DTYPES, RealFormat, component_format, is_complex

if TYPE_CHECKING:  # sweep.py imports torch; the report only reads its totals
    from sqrtwatch.accuracy.sweep import Fingerprint, Tally

# Binades shown beyond the dtype's range: where inputs underflow to 0 or overflow to inf.
UNDERFLOW_ROWS = 16
OVERFLOW_ROWS = 4

# The contract fields, in order; reports may carry more after them.
CONTRACT_FIELDS = (
    "impl",
    "dtype",
    "device",
    "torch_version",
    "mode",
    "inputs_tested",
    "mismatches",
    "mismatch_fraction",
    "max_ulp",
    "mean_ulp",
    "worst_input_bits",
    "special_values",
    "elapsed_s",
)


def worst_input_hex(dtype: str, bits: int | None) -> str | None:
    """The worst input's bit pattern as hex, as wide as the dtype (complex: both parts)."""
    if bits is None:
        return None
    width = component_format(dtype).bits * (2 if is_complex(dtype) else 1)
    return f"0x{bits & ((1 << width) - 1):0{width // 4}x}"


def build_report(
    *,
    impl: str,
    dtype: str,
    device: str,
    torch_version: str,
    requested_mode: str,
    mode: str,
    tally: Tally,
    fingerprint: Fingerprint,
    special: dict,
    elapsed_s: float,
) -> dict:
    """The report of one (impl, dtype, device): contract fields first, then extras."""
    report = {
        "impl": impl,
        "dtype": dtype,
        "device": device,
        "torch_version": torch_version,
        "mode": mode,
        "inputs_tested": tally.inputs_tested,
        "mismatches": tally.mismatches,
        "mismatch_fraction": tally.mismatch_fraction,
        "max_ulp": tally.max_ulp,
        "mean_ulp": tally.mean_ulp,
        "worst_input_bits": worst_input_hex(dtype, tally.worst_input_bits),
        "special_values": special,
        "elapsed_s": round(elapsed_s, 3),
        "requested_mode": requested_mode,
        "ulp_inputs": tally.ulp_count,
        "fingerprint": fingerprint.hexdigest(),
    }
    if requested_mode != mode:
        report["note"] = "too many bit patterns for an exhaustive sweep: sampled instead"
    if is_complex(dtype):
        report["max_normwise_rel_error"] = tally.normwise_max
        report["mean_normwise_rel_error"] = tally.normwise_mean
    return report


def _number(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def format_text(reports: list[dict]) -> str:
    """A fixed-width table of reports, one line each, then the special-value failures."""
    header = (
        "impl",
        "dtype",
        "device",
        "mode",
        "inputs",
        "mismatches",
        "fraction",
        "max ulp",
        "mean ulp",
        "worst input",
        "special",
        "seconds",
    )
    rows = [
        (
            r["impl"],
            r["dtype"],
            r["device"],
            r["mode"],
            f"{r['inputs_tested']:,}",
            f"{r['mismatches']:,}",
            f"{r['mismatch_fraction']:.3g}",
            _number(r["max_ulp"], ".4g"),
            _number(r["mean_ulp"], ".4g"),
            r["worst_input_bits"] or "-",
            f"{r['special_values']['failed']}/{r['special_values']['tested']} failed",
            f"{r['elapsed_s']:.1f}",
        )
        for r in reports
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in (header, *rows)
    ]
    for r in reports:
        for case in r["special_values"]["cases"]:
            lines.append(
                f"{r['impl']} {r['dtype']}: sqrt({case['input']}) should be {case['expected']}, "
                f"got {case['got']['single']} ({', '.join(case['failing_layouts'])})"
            )
        if r.get("note"):
            lines.append(f"{r['dtype']}: {r['note']}")
    return "\n".join(lines)


# --- the precision picture: one row per binade of input magnitude ---


def binade_region(e: int, fmt: RealFormat) -> str:
    """``underflow`` (rounds to 0, or doubles), ``subnormal``, ``normal`` or ``overflow``."""
    if e < fmt.smallest_subnormal_exponent:
        return "underflow"
    if e < fmt.emin:
        return "subnormal"
    return "normal" if e <= fmt.emax else "overflow"


def input_rel_error(e: int, fmt: RealFormat) -> float | None:
    """The largest relative error of rounding a real number of ``[2**e, 2**(e+1))`` to
    ``fmt``: half the spacing over ``2**e``; 1 where it underflows, None (inf) above."""
    region = binade_region(e, fmt)
    if region == "underflow":
        return 1.0
    if region == "overflow":
        return None
    return 2.0 ** (max(e, fmt.emin) - fmt.precision - e)


def binade_rows(tally: Tally, fmt: RealFormat) -> list[dict]:
    """Per input binade ``e`` (``2**e <= x < 2**(e+1)``), from below the smallest subnormal
    to above the largest finite: region, input rounding error, sqrt's measured error.

    ``sqrt_rel_error`` bounds sqrt's own relative error from the binade's largest ulp
    error (``ulp(y) / y <= 2**(1 - p)``); ``total_rel_error`` bounds sqrt of a real input
    after rounding it to the dtype: ``sqrt(1 + u) * (1 + s) - 1``. Counts are over the
    positive inputs of the binade that the sweep tested."""
    binades = tally.binades
    assert binades is not None
    rows = []
    low, high = fmt.smallest_subnormal_exponent - UNDERFLOW_ROWS, fmt.emax + OVERFLOW_ROWS
    for e in range(low, high + 1):
        i = e - fmt.smallest_subnormal_exponent
        inside = 0 <= i < binades.inputs.size
        tested = int(binades.inputs[i]) if inside else 0
        max_ulp = float(binades.max_ulp[i]) if inside and binades.max_ulp[i] >= 0 else None
        u = input_rel_error(e, fmt)
        s = None if max_ulp is None else max_ulp * 2.0 ** (1 - fmt.precision)
        if u == 1.0:
            total: float | None = 1.0  # sqrt(0) = 0 for a nonzero input, or a root off by sqrt(2)
        elif u is None or s is None:
            total = None
        else:
            total = math.sqrt(1 + u) * (1 + s) - 1
        rows.append(
            {
                "exponent": e,
                "region": binade_region(e, fmt),
                "inputs": tested,
                "mismatches": int(binades.mismatches[i]) if inside else 0,
                "max_ulp": max_ulp,
                "input_rel_error": u,
                "sqrt_rel_error": s,
                "total_rel_error": total,
            }
        )
    return rows


def format_binades(reports: list[dict]) -> str:
    """The precision picture of each report as a fixed-width table."""
    header = ("binade", "region", "inputs", "mismatches", "max ulp", "input rel", "sqrt rel", "total rel")
    blocks = []
    for r in reports:
        rows = [
            (
                f"2**{b['exponent']}",
                b["region"],
                f"{b['inputs']:,}",
                f"{b['mismatches']:,}",
                _number(b["max_ulp"], ".4g"),
                _number(b["input_rel_error"], ".3g", "inf"),
                _number(b["sqrt_rel_error"], ".3g"),
                _number(b["total_rel_error"], ".3g", "inf" if b["region"] == "overflow" else "-"),
            )
            for b in r.get("by_binade", [])
        ]
        widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
        lines = [f"{r['impl']} {r['dtype']} {r['device']} ({r['mode']}): by input binade"]
        lines += ["  ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in (header, *rows)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- sqrtwatch accuracy ---


def run_accuracy_command(
    impl: str,
    dtypes: list[str],
    device: str,
    mode: str,
    samples: int,
    fmt: str,
    consistency: bool = False,
    by_binade: bool = False,
) -> None:
    """Check ``impl`` on each of ``dtypes`` (all six when empty) and print the reports."""
    from sqrtwatch.accuracy.engine import AccuracyError, check_accuracy  # the engine imports this module
    from sqrtwatch.impls import ImplError, load_impl

    try:
        load_impl(impl)
    except ImplError as exc:
        raise click.ClickException(f"--impl: {exc}") from exc
    reports = []
    for dtype in dtypes or ALL_DTYPES:
        try:
            reports.append(check_accuracy(impl, dtype, device, mode, samples, consistency=consistency))
        except (AccuracyError, ImplError) as exc:
            raise click.ClickException(str(exc)) from exc
    if not by_binade:
        reports = [{k: v for k, v in r.items() if k != "by_binade"} for r in reports]
    if fmt == "json":
        click.echo(json.dumps(reports, indent=2, allow_nan=False))
    elif by_binade:
        click.echo(format_text(reports) + "\n\n" + format_binades([r for r in reports if "by_binade" in r]))
    else:
        click.echo(format_text(reports))
