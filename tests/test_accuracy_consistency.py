"""Consistency checks count bitwise differences between ways of calling one implementation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sqrtwatch.accuracy.consistency import check_consistency

REPO_ROOT = Path(__file__).resolve().parents[1]


def call_dependent(x):
    """sqrt, but strided inputs get 7 in their first result, and one thread turns -0 into +0."""
    result = torch.sqrt(x)
    if not x.is_contiguous():
        result = result.clone()
        result[0] = 7
    if torch.get_num_threads() == 1:
        result = result + 0.0
    return result


@pytest.mark.slow
def test_differences_are_counted_per_way_of_calling(monkeypatch):
    if torch.get_num_threads() == 1:
        pytest.skip("needs more than one thread")
    monkeypatch.chdir(REPO_ROOT)  # the fresh process imports tests.* from here
    report = check_consistency("tests.test_accuracy_consistency:call_dependent", "float16", "cpu")
    assert report["inputs"] == 1 << 16
    assert report["strided_vs_contiguous"] == 1  # input 0 (+0): 7 instead of 0
    assert report["one_thread_vs_all"] == 1  # input 0x8000 (-0): +0 instead of -0
    assert report["fresh_process_vs_warm"] == 0
    assert report["compile_vs_eager"] == 0
