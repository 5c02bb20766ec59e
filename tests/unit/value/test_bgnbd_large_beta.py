"""BG/NBD stays finite where the drop-out probability, or the purchase rate too, is nearly the
same for everyone."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from patronage.value.core import bgnbd

X = np.array([0.0, 1, 2, 5, 30])
T_X = np.array([0.0, 10, 20, 30, 39])


def test_expected_purchases_are_finite_when_a_and_b_are_both_large() -> None:
    # Fitted on a small company with no visible spread of drop-out probabilities.
    params = {"r": 0.9937, "alpha": 6.2963, "a": 82_380.07, "b": 305_884.37}
    got = bgnbd.expected_purchases(params, 10, X, T_X, 40.0)
    assert np.isfinite(got).all() and (got > 0).all()
    assert bgnbd.expected_purchases(params, 10, 2, 20, 40) == got[2]


def test_expected_purchases_approach_their_limit_as_a_and_b_grow_together() -> None:
    # The same mean drop-out probability a/(a+b), less and less spread around it: the
    # expectation moves smoothly towards the limit instead of jumping where one form of the
    # formula gives way to the other.
    scales = [50, 500, 5_000, 50_000, 500_000]
    values = [bgnbd.expected_purchases({"r": 0.99, "alpha": 6.3, "a": 0.27 * k,
                                        "b": 0.27 * k * 3.713}, 10, X, T_X, 40.0)
              for k in scales]
    gaps = [np.abs(later - earlier).max() for earlier, later in pairwise(values)]
    assert all(later < earlier for earlier, later in pairwise(gaps))
    assert gaps[-1] < 1e-3


def test_expected_purchases_are_finite_in_the_poisson_limit_too() -> None:
    # Fitted on a generated company where everyone buys at about the same rate: r and alpha
    # run off to millions together (scipy's 2F1 gives NaN there) and the answer must still be
    # the smooth limit of smaller, equally proportioned parameters.
    fitted = {"r": 23_024_257.53, "alpha": 102_984_829.27, "a": 42_032.26, "b": 194_654.17}
    got = bgnbd.expected_purchases(fitted, 10, X, T_X, 40.0)
    assert np.isfinite(got).all() and (got > 0).all()
    values = [bgnbd.expected_purchases({k: v / scale for k, v in fitted.items()}, 10, X, T_X, 40.0)
              for scale in (1_000, 100, 10)]
    gaps = [np.abs(later - earlier).max() for earlier, later in pairwise([*values, got])]
    assert all(later < earlier for earlier, later in pairwise(gaps))
    assert gaps[-1] < 1e-3


def test_the_term_by_term_series_equals_scipy_where_scipy_is_finite() -> None:
    from scipy.special import hyp2f1

    rng = np.random.default_rng(7)
    A, B = rng.uniform(0.1, 60, 200), rng.uniform(0.1, 60, 200)
    C, z = A + B + rng.uniform(0.5, 30, 200), rng.uniform(0, 0.9, 200)
    log_scale = -rng.uniform(0, 5, 200)
    want = np.exp(log_scale) * hyp2f1(A, B, C, z)
    np.testing.assert_allclose(bgnbd._scaled_series(A, B, C, z, log_scale), want, rtol=1e-10)


def test_the_exact_gradient_matches_finite_differences_of_the_likelihood() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(0, 12, 400).astype(np.float64)
    T = rng.uniform(20, 40, 400)
    t_x = np.where(x > 0, rng.uniform(0, 1, 400) * T, 0.0)
    w = rng.integers(1, 5, 400).astype(np.float64)
    x_values, x_index = np.unique(x, return_inverse=True)

    def value(p: np.ndarray) -> float:
        return bgnbd._rows_and_gradient(*np.exp(p), x, t_x, T, x_values, x_index, w)[0]

    for params in ([0.24, 4.4, 0.79, 2.4], [3.0, 0.5, 40.0, 90.0], [0.05, 30.0, 0.02, 0.3]):
        p = np.log(np.array(params))
        _, gradient = bgnbd._rows_and_gradient(*np.exp(p), x, t_x, T, x_values, x_index, w)
        step = 1e-6
        numeric = [(value(p + step * e) - value(p - step * e)) / (2 * step) for e in np.eye(4)]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-4)
