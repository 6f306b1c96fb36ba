"""Parse sqrtwatch context files (see sqrtwatch/context.py) into validated records.

A context file sits at ``<results>/sqrtwatch-context/<machine>/<results file stem>.json``
and holds what asv cannot record: the torch build, CPU ISA, devices, and the
accuracy suite's reports (``context["accuracy"]``, DESIGN.md's accuracy JSON shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqrtwatch.context import CONTEXT_DIR_NAME

from .asv_results import ResultsFormatError, integer, number, strict_json, text


@dataclass(frozen=True)
class AccuracyReport:
    """Key columns of one accuracy report, plus the whole report as strict JSON."""

    impl: str
    dtype: str
    device: str
    mode: str
    torch_version: str | None
    inputs_tested: int | None
    mismatches: int | None
    mismatch_fraction: float | None
    max_ulp: float | None
    mean_ulp: float | None
    worst_input_bits: str | None
    special_tested: int | None
    special_failed: int | None
    elapsed_s: float | None
    detail: dict


@dataclass(frozen=True)
class RunContext:
    """The sqrtwatch context of one results file."""

    torch_version: str | None
    torch_git_hash: str | None
    build_variant: str | None
    cpu_model: str | None
    cpu_count: int | None
    cpu_isa: str | None
    math_libraries: Any
    threads: int | None
    profile: str | None
    sqrtwatch_commit: str | None
    cuda_devices: Any
    mps_device: str | None
    raw: dict
    accuracy: list[AccuracyReport] = field(default_factory=list)


def hardware_label(context: dict | None, machine_params: dict | None = None) -> str:
    """What hardware a run measured, as series group it: CPU model, core count, GPU models.

    From the run's context file, else from the machine fields asv writes into the
    results file (``cpu``, ``num_cpu``); "" when neither names a CPU. Runs of one
    machine name on different hardware (a hosted-runner pool) get different labels.
    """
    context = context if isinstance(context, dict) else {}
    params = machine_params if isinstance(machine_params, dict) else {}
    cpu = context.get("cpu_model") or params.get("cpu")
    if not isinstance(cpu, str) or not cpu.strip():
        return ""
    cores = context.get("cpu_count") or params.get("num_cpu")
    label = " ".join(cpu.split()) + (f" x{cores}" if cores not in (None, "") else "")
    gpus = context.get("cuda_devices")
    if isinstance(gpus, list) and gpus:
        label += " + " + ", ".join(str(gpu) for gpu in gpus)
    elif isinstance(context.get("mps_device"), str):
        label += f" + MPS {context['mps_device']}"
    return label[:255]


def context_file_for(results_file: Path) -> Path:
    """The context file of ``<results>/<machine>/<stem>.json``."""
    return (
        results_file.parent.parent / CONTEXT_DIR_NAME / results_file.parent.name / f"{results_file.stem}.json"
    )


def parse_context(data: Any) -> RunContext:
    """A context file's content; any problem is a :class:`ResultsFormatError`."""
    if not isinstance(data, dict):
        raise ResultsFormatError(f"context file should hold an object, not {type(data).__name__}")

    def opt_text(key: str, max_len: int = 255) -> str | None:
        value = data.get(key)
        return text(value, f"context {key}", max_len, optional=True)

    accuracy = data.get("accuracy") or []
    if not isinstance(accuracy, list):
        raise ResultsFormatError("context accuracy should be a list")
    return RunContext(
        torch_version=opt_text("torch_version", 128),
        torch_git_hash=opt_text("torch_git_hash"),
        build_variant=opt_text("build_variant", 64),
        cpu_model=opt_text("cpu_model"),
        cpu_count=integer(data.get("cpu_count"), "context cpu_count"),
        cpu_isa=opt_text("cpu_isa", 64),
        math_libraries=strict_json(data.get("math_libraries")),
        threads=integer(data.get("threads"), "context threads"),
        profile=opt_text("profile", 32),
        sqrtwatch_commit=opt_text("sqrtwatch_commit", 64),
        cuda_devices=strict_json(data.get("cuda_devices")),
        mps_device=opt_text("mps_device"),
        raw=strict_json({key: value for key, value in data.items() if key != "accuracy"}),
        accuracy=_unique_reports(parse_accuracy_report(item, i) for i, item in enumerate(accuracy)),
    )


def parse_accuracy_report(item: Any, index: int) -> AccuracyReport:
    """One entry of ``context["accuracy"]`` (extra fields are kept in ``detail``)."""
    where = f"context accuracy[{index}]"
    if not isinstance(item, dict):
        raise ResultsFormatError(f"{where} should be an object, not {type(item).__name__}")
    special = item.get("special_values")
    special = special if isinstance(special, dict) else {}
    failed = special.get("failed")
    return AccuracyReport(
        impl=text(item.get("impl", "torch.sqrt"), f"{where} impl", 255),
        dtype=text(item.get("dtype"), f"{where} dtype", 32),
        device=text(item.get("device", "cpu"), f"{where} device", 32),
        mode=text(item.get("mode", ""), f"{where} mode", 32),
        torch_version=text(item.get("torch_version"), f"{where} torch_version", 128, optional=True),
        inputs_tested=integer(item.get("inputs_tested"), f"{where} inputs_tested"),
        mismatches=integer(item.get("mismatches"), f"{where} mismatches"),
        mismatch_fraction=number(item.get("mismatch_fraction"), f"{where} mismatch_fraction"),
        max_ulp=number(item.get("max_ulp"), f"{where} max_ulp"),
        mean_ulp=number(item.get("mean_ulp"), f"{where} mean_ulp"),
        worst_input_bits=text(item.get("worst_input_bits"), f"{where} worst_input_bits", 64, optional=True),
        special_tested=integer(special.get("tested"), f"{where} special_values.tested"),
        # "failed" is a count, or the list of failing cases.
        special_failed=len(failed)
        if isinstance(failed, list)
        else integer(failed, f"{where} special_values.failed"),
        elapsed_s=number(item.get("elapsed_s"), f"{where} elapsed_s"),
        detail=strict_json(item),
    )


def _unique_reports(reports) -> list[AccuracyReport]:
    # One report per (impl, dtype, device, mode): a repeated one replaces the earlier.
    return list({(r.impl, r.dtype, r.device, r.mode): r for r in reports}.values())
