"""Library ops beside hand-written formulas: they agree on easy inputs and part where they should."""

from __future__ import annotations

import pytest
import torch

from sqrtwatch.models import formulas, ranges, speed


@pytest.mark.parametrize(
    ("op", "impl"),
    [(op, impl) for op in formulas.OPS for impl in formulas.IMPLS if op in getattr(formulas, impl.upper())],
)
def test_every_formula_is_accurate_on_random_float64_inputs(op, impl):
    summary = formulas.measure(op, impl, "random", "float64")
    assert summary.compared > 0
    assert summary.max_eps < 1e4  # layer norms lose a few bits by design; nothing loses half
    assert (summary.inf, summary.nan, summary.zero) == (0, 0, 0)


def test_handwritten_norm_overflows_in_float16_where_the_library_does_not():
    hand = formulas.measure("vector_norm", "handwritten", "near_overflow", "float16")
    library = formulas.measure("vector_norm", "library", "near_overflow", "float16")
    assert hand.inf == 64  # every row of the (64, 1024) input
    assert library.inf == 0 and library.max_eps < 1


def test_handwritten_std_cancels_on_a_large_mean():
    hand = formulas.measure("std", "handwritten", "large_mean", "float32")
    library = formulas.measure("std", "library", "large_mean", "float32")
    assert hand.max_eps > 1e3 or hand.nan + hand.zero > 0
    assert library.max_eps < 4


def test_fp16_normalize_of_zeros_divides_zero_by_an_eps_that_rounded_to_zero():
    assert formulas.measure("normalize", "library", "zeros", "float16").nan == 64 * 1024
    assert formulas.measure("normalize", "library", "zeros", "float32").nan == 0


def test_overflow_magnitude_of_the_handwritten_fp16_norm():
    # 1024 squares of magnitudes in [0.5, 1) * 2**k sum past 65504 once 4**k * ~600 > 65504: k ~ 3.4
    hand = ranges.find_range("vector_norm", "handwritten", "float16")
    library = ranges.find_range("vector_norm", "library", "float16")
    assert 3.0 < hand.overflow_log2 < 4.0
    assert library.overflow_log2 > 11.0
    assert not ranges.fails("vector_norm", "handwritten", "float16", 3.0)
    assert ranges.fails("vector_norm", "handwritten", "float16", 4.0)


def test_formulas_that_do_not_exist_skip():
    with pytest.raises(NotImplementedError):
        formulas.formula("cdist", "handwritten")
    with pytest.raises(NotImplementedError):
        formulas.case_scale("eps_dominated", torch.float32, "vector_norm")
    with pytest.raises(NotImplementedError):
        speed.composite_cell("layer_norm", "library", "cpu", "float32", "8x64x56x56")


def test_speed_cells_count_the_bytes_they_must_move():
    cell = speed.composite_cell("vector_norm", "library", "cpu", "float32", "512x4096")
    assert cell.nbytes == (512 * 4096 + 512) * 4
    step = speed.optimizer_cell("adamw", "handwritten", "cpu", "float32", "4x262144")
    assert step.nbytes == 7 * 4 * 262144 * 4
    step.call()
