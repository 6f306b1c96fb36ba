"""Consistency checks count bitwise differences between ways of calling one implementation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sqrtwatch.accuracy.consistency import check_consistency, count_differences, strided_copy

REPO_ROOT = Path(__file__).resolve().parents[1]
X = torch.tensor([4.0, -1.0, float("nan"), 0.0, -0.0, 2.0], dtype=torch.float32)


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
    one = {"bitwise": 1, "values": 1}
    assert report["strided_vs_contiguous"] == one  # input 0 (+0): 7 instead of 0
    assert report["one_thread_vs_all"] == one  # input 0x8000 (-0): +0 instead of -0
    assert report["fresh_process_vs_warm"] == {"bitwise": 0, "values": 0}
    assert report["compile_vs_eager"]["values"] == 0


def negative_nan(x):
    """sqrt with every NaN made negative, and one NaN made positive when strided."""
    result = torch.where(torch.sqrt(x).isnan(), -torch.tensor(float("nan"), dtype=x.dtype), torch.sqrt(x))
    if not x.is_contiguous():
        result[torch.nonzero(result.isnan())[0]] = float("nan")
    return result


def test_nan_sign_differences_count_bitwise_only():
    report_count = count_differences(negative_nan(strided_copy(X)), negative_nan(X))
    assert report_count == {"bitwise": 1, "values": 0}
