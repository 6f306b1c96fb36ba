"""The reference is trusted only after its self-check, and in IEEE's floating-point mode.

The flushing plug-in runs in a subprocess: setting FTZ/DAZ here would change every
later test in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sqrtwatch.accuracy.engine import ReferenceCheckError, self_check_inputs, self_check_reference
from sqrtwatch.accuracy.inputs import hard_cases
from sqrtwatch.accuracy.numerics import FORMATS, fp_mode, ieee_mode

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_every_reference_path_passes_the_self_check(name):
    fmt = FORMATS[name]
    patterns, _ = self_check_inputs(fmt)
    assert self_check_reference(fmt) == patterns.size > 1000
    # Subnormal inputs, and the hard cases where a double rounding would show, are in it.
    assert (patterns < (1 << fmt.mantissa_bits)).sum() >= fmt.mantissa_bits
    assert set(hard_cases(fmt).patterns[:: max(1, hard_cases(fmt).patterns.size // 2048)].tolist()) <= set(
        patterns.tolist()
    )


def test_a_reference_that_is_not_correctly_rounded_fails_the_self_check():
    # float32 roots rounded from bfloat16-precision roots: wrong almost everywhere.
    coarse = {"coarse": lambda x: x.double().sqrt().to(torch.bfloat16).double()}
    with pytest.raises(
        ReferenceCheckError, match=r"self-check failed for float32 \(coarse\): sqrt of input 0x"
    ):
        self_check_reference(FORMATS["float32"], coarse)


def test_ieee_mode_clears_a_flushed_mode_and_sets_it_again():
    assert fp_mode() == {"flush_to_zero": False, "denormals_are_zero": False}
    torch.set_flush_denormal(True)
    try:
        assert fp_mode() == {"flush_to_zero": True, "denormals_are_zero": True}
        with ieee_mode():
            assert fp_mode() == {"flush_to_zero": False, "denormals_are_zero": False}
            assert torch.get_num_threads() == 1  # torch's pool threads may still be flushed
        assert fp_mode() == {"flush_to_zero": True, "denormals_are_zero": True}
    finally:
        torch.set_flush_denormal(False)
    assert fp_mode() == {"flush_to_zero": False, "denormals_are_zero": False}


def test_an_implementation_that_flushes_subnormals_is_caught():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqrtwatch",
            "accuracy",
            "--impl",
            "tests.flush_on_import:sqrt",
            "--dtype",
            "bfloat16",
            "--dtype",
            "float16",
            "--format",
            "json",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    bfloat16, float16 = json.loads(completed.stdout)
    flushed = {"flush_to_zero": True, "denormals_are_zero": True}
    assert {k: bfloat16["fp_mode"][k] for k in flushed} == flushed
    # Each of the 127 positive subnormals gives 0, each negative one -0 instead of NaN.
    assert bfloat16["mismatches"] == 2 * 127
    assert bfloat16["worst_input_bits"] == "0x007f"
    # The special-value table sees the same: the subnormal cases come back as zeros.
    assert {case["case"] for case in bfloat16["special_values"]["cases"]} == {
        "smallest subnormal",
        "largest subnormal",
        "-smallest subnormal",
    }
    # float16 subnormals are normal once widened to float32, where torch computes: no loss,
    # and the table's subnormal inputs reach the implementation intact.
    assert float16["mismatches"] == 0 and float16["special_values"]["failed"] == 0
