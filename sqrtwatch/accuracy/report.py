"""The accuracy report object (DESIGN.md ``accuracy --format json``) and its text table."""

from __future__ import annotations

from sqrtwatch.accuracy.formats import component_format, is_complex
from sqrtwatch.accuracy.tally import Fingerprint, Tally

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


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


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
