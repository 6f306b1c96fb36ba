"""The dtypes and devices sqrtwatch measures: one list for the CLI, accuracy engine and dashboard.

The asv suites import without sqrtwatch, so benchmarks/common.py keeps its own copy;
tests/test_layout.py asserts that the two agree.
"""

from __future__ import annotations

REAL_DTYPES = ("float16", "bfloat16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
DTYPES = REAL_DTYPES + COMPLEX_DTYPES
DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16}

DEVICES = ("cpu", "cuda", "mps")
GPU_DEVICES = ("cuda", "mps")
MPS_UNSUPPORTED_DTYPES = frozenset({"float64", "complex128"})  # Metal has no 64-bit floats
