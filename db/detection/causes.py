"""The cause of a change: the recorded context fields that differ between two runs.

A run's context (sqrtwatch/context.py) is flattened into named fields
(``torch_version``, ``math_libraries.mkl``, ``env.OMP_NUM_THREADS``,
``subnormals_flushed.numpy``, ...) plus the commit. A field group is compared
only when both runs recorded it (a context written by an older sqrtwatch lacks
some); inside a recorded group a missing entry reads as null (an environment
variable set from some night on shows as ``[null, "2"]``).
"""

from __future__ import annotations

from typing import Any

# Context fields that can change a measurement, in the order causes are shown.
SCALAR_FIELDS = (
    "torch_version",
    "torch_git_hash",
    "build_variant",
    "profile",
    "cpu_model",
    "cpu_count",
    "cpu_affinity",
    "cpu_isa",
    "aten_cpu_capability_env",
    "mkl_enable_instructions",
    "threads",
    "interop_threads",
    "numpy_version",
    "python",
    "os_image",
    "platform",
    "cuda_runtime",
    "cudnn",
    "gpu_driver",
    "mps_device",
)
GROUP_FIELDS = ("math_libraries", "subnormals_flushed", "env")
LIST_FIELDS = ("cuda_devices",)
COMMIT = "commit"
# Why a change of these fields is not a regression of the code measured.
HARDWARE_FIELDS = ("cpu_model", "cpu_count", "cuda_devices", "gpu_driver", "mps_device")


def context_fields(context: Any, commit: str | None = None) -> dict[str, dict[str, Any]]:
    """A run's context as field groups: group name -> {field name: value} (scalars are groups of one)."""
    groups: dict[str, dict[str, Any]] = {}
    if commit:
        groups[COMMIT] = {COMMIT: commit}
    if not isinstance(context, dict):
        return groups
    for name in SCALAR_FIELDS:
        if name in context:
            groups[name] = {name: _plain(context[name])}
    for name in GROUP_FIELDS:
        value = context.get(name)
        if isinstance(value, dict):
            groups[name] = {f"{name}.{key}": _plain(item) for key, item in sorted(value.items())}
    for name in LIST_FIELDS:
        value = context.get(name)
        if isinstance(value, list):
            groups[name] = {name: ", ".join(map(str, value)) or None}
    pools = context.get("thread_pools")
    if isinstance(pools, list):
        groups["thread_pools"] = {
            f"thread_pools.{pool.get('internal_api')}": _pool(pool)
            for pool in pools
            if isinstance(pool, dict)
        }
    return groups


def cause(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, list]:
    """Field -> [before, after] for the fields of groups both runs recorded that differ."""
    changed: dict[str, list] = {}
    for group in (COMMIT, *SCALAR_FIELDS, *GROUP_FIELDS, *LIST_FIELDS, "thread_pools"):
        if group not in before or group not in after:
            continue
        old, new = before[group], after[group]
        for name in sorted(old.keys() | new.keys()):
            if old.get(name) != new.get(name):
                changed[name] = [old.get(name), new.get(name)]
    return changed


def describe(cause_fields: dict[str, list] | None) -> str:
    """A cause in one line: ``torch_version 2.13.0 -> 2.14.1; threads 2 -> 1``; "none recorded" when empty."""
    if not cause_fields:
        return "none recorded"
    parts = []
    for name, (old, new) in cause_fields.items():
        if name == COMMIT:
            parts.append(f"commit {str(old)[:8]} -> {str(new)[:8]}")
        else:
            parts.append(f"{name} {_shown(old)} -> {_shown(new)}")
    if any(name in HARDWARE_FIELDS for name in cause_fields):
        parts.append("hardware changed: not a code regression")
    return "; ".join(parts)


def _plain(value: Any) -> Any:
    """Scalars as they are; anything else as its text (so that values compare and serialise)."""
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _pool(pool: dict) -> str:
    # Thread counts are left out: ``threads`` and ``cpu_affinity`` say them once.
    details = [str(pool[key]) for key in ("threading_layer", "architecture") if pool.get(key)]
    version = pool.get("version") or "unknown version"
    return f"{version} ({', '.join(details)})" if details else str(version)


def _shown(value: Any) -> str:
    return "unset" if value is None else str(value)
