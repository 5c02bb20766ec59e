"""Properties the value models must keep: grouping changes nothing, closed forms equal sums."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from patronage.value.core import bgnbd, sbg
from patronage.value.core.fitting import group_rows

positive = st.floats(0.05, 8.0)


@settings(max_examples=60, deadline=None)
@given(r=positive, alpha=positive, a=positive, b=positive, seed=st.integers(0, 1000))
def test_grouped_weighted_likelihood_equals_row_by_row(r: float, alpha: float, a: float,
                                                       b: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 300).astype(float)
    T = rng.choice([20.0, 39.0], 300)
    t_x = np.where(x > 0, np.round(rng.random(300) * T), 0.0)
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    (gx, gt, gT), w = group_rows(x, t_x, T)
    assert np.isclose(bgnbd.log_likelihood(params, gx, gt, gT, w),
                      bgnbd.log_likelihood(params, x, t_x, T), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(r=positive, alpha=positive, a=st.floats(0.1, 0.95), b=positive,
       x=st.integers(1, 40), horizon=st.floats(1.0, 52.0))
def test_expected_purchases_equal_the_papers_formula(r: float, alpha: float, a: float,
                                                     b: float, x: int, horizon: float) -> None:
    T, t_x = 39.0, 20.0
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    z = horizon / (alpha + T + horizon)
    direct = ((a + b + x - 1) / (a - 1)
              * (1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x)
                 * hyp2f1(r + x, b + x, a + b + x - 1, z))
              / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)))
    ours = float(bgnbd.expected_purchases(params, horizon, np.array([float(x)]),
                                          np.array([t_x]), np.array([T]))[0])
    assert np.isclose(ours, direct, rtol=1e-7, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(alpha=positive, beta=positive, n=st.integers(0, 60), d=st.floats(0.01, 0.5))
def test_sbg_residual_lifetime_closed_form_equals_the_sum(alpha: float, beta: float, n: int,
                                                          d: float) -> None:
    closed = float(sbg.residual_lifetime(n, alpha, beta, d))
    assert np.isclose(closed, sbg.residual_lifetime_by_sum(n, alpha, beta, d, 40000), rtol=1e-6)


@given(st.lists(st.integers(-3, 6), max_size=40))
def test_percentile_score_is_the_share_at_or_below(values: list[int]) -> None:
    from patronage.value.core.seven import percentile_score

    measure = np.array(values, dtype=np.float64)
    expected = [0.0 if v <= 0 else 100.0 * sum(u <= v for u in values) / len(values)
                for v in values]
    assert percentile_score(measure).tolist() == pytest.approx(expected)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    from patronage.value.core.gamma_gamma import _value_and_gradient

    rng = np.random.default_rng(3)
    x = rng.integers(1, 9, 200).astype(np.float64)
    m = rng.gamma(2.0, 20.0, 200)
    w = rng.integers(1, 4, 200).astype(np.float64)
    values, index = np.unique(x, return_inverse=True)
    point = np.log(np.array([2.5, 3.2, 14.0]))

    def value(logs: np.ndarray) -> float:
        p, q, g = np.exp(logs)
        return _value_and_gradient(p, q, g, w, x, m, values, index)[0]

    _, grad = _value_and_gradient(*np.exp(point), w, x, m, values, index)
    h = 1e-6
    numeric = [(value(point + h * e) - value(point - h * e)) / (2 * h) for e in np.eye(3)]
    assert grad == pytest.approx(numeric, rel=1e-5)
