"""BG/NBD outputs analysts use next to the fit: continuity at a = 1, E[X(t)], P(X(t) = k),
and standard errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patronage.value.core import bgnbd, gamma_gamma, sbg
from patronage.value.core.fitting import hessian

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.mark.parametrize("x", [0.0, 1.0, 4.0, 60.0])
@pytest.mark.parametrize("T", [0.0, 10.0, 38.0])
def test_expected_purchases_are_continuous_through_a_equal_one(x: float, T: float) -> None:
    at = {**CDNOW, "a": 1.0}
    value = float(bgnbd.expected_purchases_if_alive(at, 39.0, x, T))
    below = float(bgnbd.expected_purchases_if_alive({**at, "a": 1 - 1e-6}, 39.0, x, T))
    above = float(bgnbd.expected_purchases_if_alive({**at, "a": 1 + 1e-6}, 39.0, x, T))
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx((below + above) / 2, rel=1e-6)
    assert value == pytest.approx(below, rel=1e-5) and value == pytest.approx(above, rel=1e-5)


def test_expected_purchases_at_a_equal_one_for_whole_populations() -> None:
    at = {**CDNOW, "a": 1.0}
    x = np.array([0.0, 2.0, 7.0])
    t_x = np.array([0.0, 20.0, 30.0])
    T = np.array([39.0, 39.0, 39.0])
    got = bgnbd.expected_purchases(at, 52.0, x, t_x, T)
    nearby = bgnbd.expected_purchases({**at, "a": 1 + 1e-5}, 52.0, x, t_x, T)
    assert np.isfinite(got).all() and np.allclose(got, nearby, rtol=1e-4)
    new = bgnbd.expected_purchases_new(at, [13.0, 52.0])
    assert np.isfinite(new).all() and np.allclose(
        new, bgnbd.expected_purchases_new({**at, "a": 1 - 1e-5}, [13.0, 52.0]), rtol=1e-4)


def test_expected_purchases_of_a_new_customer_follow_the_papers_equation_7() -> None:
    from scipy.special import hyp2f1

    r, alpha, a, b = CDNOW.values()
    for t in (1.0, 39.0, 78.0):
        eq7 = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                       * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        assert float(bgnbd.expected_purchases_new(CDNOW, t)) == pytest.approx(eq7, rel=1e-10)
    assert float(bgnbd.expected_purchases_new(CDNOW, 0.0)) == 0.0


def test_expected_purchases_of_new_customers_track_cdnow_as_in_the_papers_figure_1(
        cdnow: Path) -> None:
    # The paper's figure 1: E[X(t)] summed over the customers, each at their own time since
    # the first purchase, follows the 2,457 repeat purchases of the calibration weeks.
    data = np.genfromtxt(cdnow / "cdnow_customers_summary.csv", delimiter=",", names=True)
    ages, count = np.unique(data["T"], return_counts=True)
    predicted = float(np.dot(count, bgnbd.expected_purchases_new(CDNOW, ages)))
    assert data["frequency"].sum() == 2457
    assert predicted == pytest.approx(2457, rel=0.02)


@pytest.mark.parametrize("params", [CDNOW, {**CDNOW, "a": 1.0}, {"r": 2.0, "alpha": 3.0,
                                                                  "a": 5.0, "b": 0.5}])
@pytest.mark.parametrize("t", [1.0, 39.0, 78.0])
def test_purchase_count_probabilities_add_up_to_one_and_their_mean_is_the_expectation(
        params: dict[str, float], t: float) -> None:
    k = np.arange(0, 4000, dtype=np.float64)
    p = bgnbd.probability_of_purchases(params, t, k)
    assert (p >= 0).all()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-9)
    assert float((k * p).sum()) == pytest.approx(float(bgnbd.expected_purchases_new(params, t)),
                                                 rel=1e-7)


def test_purchase_count_probabilities_by_hand() -> None:
    # k = 0 at t = 39 weeks: still active and no purchase, (α/(α+t))^r, or dropped out — which
    # needs a purchase first — so just the Poisson-gamma term.
    r, alpha = CDNOW["r"], CDNOW["alpha"]
    p0 = (alpha / (alpha + 39.0)) ** r
    assert float(bgnbd.probability_of_purchases(CDNOW, 39.0, 0)) == pytest.approx(p0, rel=1e-12)
    # k = 1: active after one purchase, B(a, b+1)/B(a, b) = b/(a+b), Poisson-gamma r·p^r·q;
    # or dropped out right after it, a/(a+b), having bought at least once, 1 − p^r.
    a, b = CDNOW["a"], CDNOW["b"]
    q = 39.0 / (alpha + 39.0)
    p1 = b / (a + b) * r * p0 * q + a / (a + b) * (1 - p0)
    assert float(bgnbd.probability_of_purchases(CDNOW, 39.0, 1)) == pytest.approx(p1, rel=1e-12)
    assert bgnbd.probability_of_purchases(CDNOW, 0.0, [0, 1, 2]).tolist() == [1.0, 0.0, 0.0]


def test_purchase_count_probabilities_match_the_lifetimes_package() -> None:
    fitters = pytest.importorskip("lifetimes.fitters.beta_geo_fitter")
    import pandas as pd

    fitter = fitters.BetaGeoFitter()
    fitter.params_ = pd.Series(CDNOW)
    for t in (10.0, 39.0):
        for k in (0, 1, 2, 5, 10):
            theirs = float(fitter.probability_of_n_purchases_up_to_time(t, k))
            ours = float(bgnbd.probability_of_purchases(CDNOW, t, k))
            assert ours == pytest.approx(theirs, rel=1e-8)
        assert float(bgnbd.expected_purchases_new(CDNOW, t)) == pytest.approx(
            float(fitter.expected_number_of_purchases_up_to_time(t)), rel=1e-8)


def _natural_hessian_errors(neg_ll: object, params: dict[str, float]) -> dict[str, float]:
    """Standard errors from the Hessian taken directly in the parameters (not their logs)."""
    names = list(params)
    at = np.array([params[k] for k in names])
    h = hessian(neg_ll, at)  # type: ignore[arg-type]
    return dict(zip(names, np.sqrt(np.diag(np.linalg.inv(h))), strict=True))


def test_bgnbd_standard_errors_from_the_hessian_at_the_optimum(cdnow: Path) -> None:
    data = np.genfromtxt(cdnow / "cdnow_customers_summary.csv", delimiter=",", names=True)
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    fit = bgnbd.fit(x, t_x, T)
    assert fit.converged and set(fit.standard_errors) == {"r", "alpha", "a", "b"}

    def neg(p: np.ndarray) -> float:
        return -bgnbd.log_likelihood(dict(zip(["r", "alpha", "a", "b"], p, strict=True)),
                                     x, t_x, T)

    direct = _natural_hessian_errors(neg, fit.params)
    for name, se in fit.standard_errors.items():
        assert 0 < se < fit.params[name]
        assert se == pytest.approx(direct[name], rel=1e-3)
    # The lifetimes package reports for CDNOW: r 0.0126, α 0.3782, a 0.1857, b 0.7053.
    assert {k: round(v, 2) for k, v in fit.standard_errors.items()} == {
        "r": 0.01, "alpha": 0.38, "a": 0.19, "b": 0.71}


def test_bgnbd_standard_errors_match_the_lifetimes_package(cdnow: Path) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    import pandas as pd

    data = pd.read_csv(cdnow / "cdnow_customers_summary.csv")
    theirs = lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    ours = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    for name, se in ours.standard_errors.items():
        assert se == pytest.approx(float(theirs.standard_errors_[name]), rel=1e-3)


def test_sbg_and_gamma_gamma_standard_errors_from_the_hessian() -> None:
    regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    fit = sbg.fit_cohorts([regular])
    periods, churned, weights = sbg.cohort_to_individual(regular)

    def neg(p: np.ndarray) -> float:
        return -sbg.log_likelihood(p[0], p[1], periods, churned, weights)

    direct = _natural_hessian_errors(neg, fit.params)
    assert all(fit.standard_errors[k] == pytest.approx(direct[k], rel=1e-3) for k in direct)
    # More customers, the same proportions: the errors shrink as 1/sqrt(n).
    tenfold = sbg.fit_cohorts([[10 * c for c in regular]])
    for k in ("alpha", "beta"):
        assert tenfold.standard_errors[k] == pytest.approx(
            fit.standard_errors[k] / np.sqrt(10), rel=1e-3)

    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 400).astype(float)
    m = rng.gamma(4.0, 10.0, 400)
    spend = gamma_gamma.fit(x, m)
    assert spend.converged

    def neg_spend(p: np.ndarray) -> float:
        return -float(gamma_gamma.log_likelihood_rows(p[0], p[1], p[2], x, m).sum())

    direct = _natural_hessian_errors(neg_spend, spend.params)
    assert all(spend.standard_errors[k] == pytest.approx(direct[k], rel=1e-2) for k in direct)


def test_a_fit_that_did_not_converge_has_no_standard_errors() -> None:
    # Everyone bought at the same steady pace: no heterogeneity, parameters run to the bound.
    fit = sbg.fit([3.0] * 50, [0.0] * 50)
    assert not fit.converged
    assert all(np.isnan(v) for v in fit.standard_errors.values())
