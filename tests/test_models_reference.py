"""The reference arithmetic of the composite-op accuracy suite, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from sqrtwatch.models import reference as ref


def w(values):
    return ref.wide(values)


def close(got, expected):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=1e-15, atol=1e-15)


def test_norm_std_and_distance_of_textbook_values():
    close(ref.norm2(w([3.0, 4.0])), 5.0)
    close(ref.std_population(w([2.0, 4, 4, 4, 5, 5, 7, 9])), 2.0)
    close(ref.cdist(w([[0.0, 0.0], [3.0, 0.0]]), w([[3.0, 4.0]])), [[5.0], [4.0]])


def test_norm_of_float64_extremes_neither_overflows_nor_underflows_in_longdouble():
    big = np.float64(2.0**600)
    close(ref.norm2(w([big, big])) / ref.WIDE(2.0**600), np.sqrt(2.0))
    tiny = np.float64(2.0**-1070)
    assert ref.norm2(w([tiny, tiny])) > 0


def test_layer_rms_batch_and_group_norm_with_and_without_eps():
    close(ref.layer_norm(w([1.0, 3.0]), eps=0.0), [-1.0, 1.0])
    close(ref.layer_norm(w([1.0, 3.0]), eps=3.0), [-0.5, 0.5])  # var 1 + eps 3 -> divide by 2
    close(ref.rms_norm(w([2.0, -2.0]), eps=0.0), [1.0, -1.0])
    close(ref.rms_norm(w([1.0, 1.0]), eps=3.0), [0.5, 0.5])
    close(ref.batch_norm_train(w([1.0, 3.0]).reshape(2, 1, 1, 1), eps=0.0).ravel(), [-1.0, 1.0])
    close(ref.group_norm(w([1.0, 3.0]).reshape(1, 2, 1, 1), groups=1, eps=0.0).ravel(), [-1.0, 1.0])
    # two groups of one channel: zero variance, eps 1 -> every output 0
    close(ref.group_norm(w([1.0, 3.0]).reshape(1, 2, 1, 1), groups=2, eps=1.0).ravel(), [0.0, 0.0])


def test_normalize_divides_by_the_norm_clamped_to_eps():
    close(ref.normalize(w([3.0, 4.0]), eps=1e-12), [0.6, 0.8])
    close(ref.normalize(w([0.0, 0.0]), eps=1e-12), [0.0, 0.0])
    close(ref.normalize(w([3.0, 4.0]), eps=10.0), [0.3, 0.4])


def test_adam_first_step_by_hand():
    # exp_avg 0.1*2 = 0.2, /bias_correction1 0.1 -> 2; sqrt(0.001*4)/sqrt(0.001) = 2, + eps 2 -> 4
    cfg = ref.AdamConfig(lr=1.0, eps=2.0)
    close(ref.adam_first_step(w([0.0]), w([2.0]), cfg), [-0.5])
    # with eps 0 the first step is -lr * sign(grad)
    close(ref.adam_first_step(w([0.0, 0.0]), w([5.0, -0.25]), ref.AdamConfig(eps=0.0)), [-1e-3, 1e-3])
    # AdamW decays the parameter first: 1 * (1 - 1 * 0.5) - 1 * sign(2)
    cfg = ref.AdamConfig(lr=1.0, eps=0.0, weight_decay=0.5, decoupled=True)
    close(ref.adam_first_step(w([1.0]), w([2.0]), cfg), [-0.5])
    # Adam adds the decay to the gradient: grad 2 + 0.5 * 1 -> still -lr * sign
    cfg = ref.AdamConfig(lr=1.0, eps=0.0, weight_decay=0.5)
    close(ref.adam_first_step(w([1.0]), w([2.0]), cfg), [0.0])


def test_error_in_eps_units():
    eps = 2.0**-10
    summary = ref.error_summary([1.0, 2.0 * (1 + eps), 4.0 * (1 - 2 * eps)], w([1.0, 2.0, 4.0]), eps)
    assert summary.max_eps == pytest.approx(2.0)
    assert summary.mean_eps == pytest.approx(1.0)
    assert (summary.compared, summary.inf, summary.nan, summary.zero) == (3, 0, 0, 0)


def test_counts_only_bad_values_the_reference_lacks():
    inf, nan = float("inf"), float("nan")
    summary = ref.error_summary(
        [inf, nan, 0.0, 1.0, inf, nan, 0.0], w([1.0, 1.0, 1.0, 1.0, inf, nan, 0.0]), 0.5
    )
    assert (summary.inf, summary.nan, summary.zero) == (1, 1, 1)
    # the zero result is off by 100%: 1 / eps(0.5) = 2 eps; the last three elements are not compared
    assert summary.compared == 2
    assert summary.max_eps == pytest.approx(2.0)
    assert summary.mean_eps == pytest.approx(1.0)


def test_floor_turns_relative_error_into_error_against_the_output_scale():
    eps = 2.0**-10
    plain = ref.error_summary([0.002], w([0.001]), eps)
    floored = ref.error_summary([0.002], w([0.001]), eps, floor=1.0)
    assert plain.max_eps == pytest.approx(1.0 / eps)
    assert floored.max_eps == pytest.approx(0.001 / eps)
    assert ref.rms(w([3.0, -4.0, float("inf")])) == pytest.approx(np.sqrt(12.5))


def test_nothing_comparable_gives_zero_error_and_shape_mismatch_is_an_error():
    summary = ref.error_summary([0.0, 0.0], w([0.0, 0.0]), 1e-3)
    assert (summary.max_eps, summary.mean_eps, summary.compared) == (0.0, 0.0, 0)
    with pytest.raises(ValueError, match="shape"):
        ref.error_summary([1.0], w([1.0, 2.0]), 1e-3)
