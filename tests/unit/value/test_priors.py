"""A model that cannot be fitted yet is replaced by its documented prior, saying why."""

from __future__ import annotations

import numpy as np
import pytest

from patronage.value.core import gamma_gamma, lifetime, sbg


def _buyers(n: int, repeats: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, n).astype(float) if repeats else np.zeros(n)
    T = np.full(n, 30.0)
    t_x = np.where(x > 0, rng.uniform(1, 30, n), 0.0)
    spend = np.where(x > 0, rng.uniform(10, 50, n), 0.0)
    return x, t_x, T, spend


@pytest.mark.parametrize(("n", "repeats", "reason"), [
    (200, False, "no repeat purchases yet (200 buyers, none bought twice)"),
    (12, True, "too few buyers to fit (12 < 20)"),
])
def test_bgnbd_falls_back_to_the_cdnow_prior(n: int, repeats: bool, reason: str) -> None:
    x, t_x, T, spend = _buyers(n, repeats)
    fits, life = lifetime.occasional_lifetimes(x, t_x, T, spend, np.zeros(n, dtype=np.int64),
                                               0.01, 12, first_spend=np.full(n, 30.0))
    bgnbd_fit = next(f.fit for f in fits if f.model == "bgnbd")
    assert bgnbd_fit.source == "prior" and not bgnbd_fit.converged
    assert bgnbd_fit.params == lifetime.BGNBD_PRIOR
    assert reason in bgnbd_fit.message and np.isfinite(bgnbd_fit.log_likelihood)
    assert life.from_prior.all()
    assert np.isfinite(life.expected_orders).all() and (life.future_value > 0).all()


def test_bgnbd_is_fitted_once_there_is_enough_to_fit() -> None:
    x, t_x, T, spend = _buyers(300, True)
    fits, life = lifetime.occasional_lifetimes(x, t_x, T, spend, np.zeros(300, dtype=np.int64),
                                               0.01, 12, first_spend=np.full(300, 30.0))
    assert {f.model: f.fit.source for f in fits} == {"bgnbd": "fitted",
                                                     "gamma_gamma": "fitted"}
    assert not life.from_prior.any()


def test_the_spend_prior_expects_the_mean_order() -> None:
    prior = lifetime.gamma_gamma_prior(4500.0)
    assert float(gamma_gamma.expected_spend(prior, 0.0, 0.0)) == pytest.approx(4500.0)
    assert prior["p"] == 6.25 and prior["q"] == 3.74


@pytest.mark.parametrize(("periods", "churned", "reason"), [
    ([0.0] * 30, [0.0] * 30, "no survivor history yet (30 subscriptions, none has completed"),
    ([3.0] * 30, [0.0] * 30, "no cancellations yet (30 subscriptions, none cancelled)"),
    ([1.0, 2.0, 3.0], [1.0, 0.0, 0.0], "too few subscriptions to fit (3 < 20)"),
])
def test_sbg_falls_back_to_the_stated_autoship_prior(periods: list[float],
                                                     churned: list[float],
                                                     reason: str) -> None:
    p, c = np.array(periods), np.array(churned)
    fit = lifetime.sbg_or_prior(p, c, np.ones_like(p))
    assert fit.source == "prior" and fit.params == lifetime.SBG_PRIOR
    assert reason in fit.message and np.isfinite(fit.log_likelihood)
    # The prior, stated: a quarter cancel in the first month, a fifth are left after a year.
    a, b = fit.params["alpha"], fit.params["beta"]
    assert float(sbg.retention_rate(1, a, b)) == pytest.approx(0.75)
    assert float(sbg.survival(12, a, b)) == pytest.approx(0.2)


def test_sbg_is_fitted_once_there_are_cancellations_and_survivors() -> None:
    periods, churned, weights = sbg.cohort_to_individual([100, 63, 47, 38, 33])
    fit = lifetime.sbg_or_prior(periods, churned, weights)
    assert fit.source == "fitted" and fit.converged
