"""The models reproduce the published numbers (Fader & Hardie; tests/fixtures/README.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from patronage.value.core import bgnbd, gamma_gamma, sbg
from patronage.value.core.transactions import summarise

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]


def test_sbg_fits_the_regular_cohort_as_published() -> None:
    fit = sbg.fit_cohorts([REGULAR[:8]])  # the paper calibrates on years 0-7
    assert fit.converged
    assert round(fit.params["alpha"], 3) == 0.704
    assert round(fit.params["beta"], 3) == 1.182
    # The projection of the remaining years stays close to what was observed.
    projected = 1000 * sbg.survival(np.arange(13), fit.params["alpha"], fit.params["beta"])
    assert np.allclose(projected[8:], REGULAR[8:], rtol=0.05)


def test_sbg_individual_and_several_cohorts_agree_with_counts() -> None:
    periods, churned, weights = sbg.cohort_to_individual(REGULAR[:8])
    rows_p = np.repeat(periods, weights.astype(int))
    rows_c = np.repeat(churned, weights.astype(int))
    individual = sbg.fit(rows_p, rows_c)
    counted = sbg.fit_cohorts([REGULAR[:8]])
    assert individual.params["alpha"] == pytest.approx(counted.params["alpha"], rel=1e-4)
    both = sbg.fit_cohorts([REGULAR[:8], REGULAR[:5]])
    assert both.converged and both.n == 1000 + 1000


def _cdnow(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.genfromtxt(path / "cdnow_customers_summary.csv", delimiter=",", names=True)
    return data["frequency"], data["recency"], data["T"]


def test_bgnbd_fits_cdnow_as_published(cdnow: Path) -> None:
    x, t_x, T = _cdnow(cdnow)
    fit = bgnbd.fit(x, t_x, T)
    assert fit.converged
    got = {k: round(v, 3) for k, v in fit.params.items()}
    assert got == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fit.log_likelihood, 1) == -9582.4
    p_alive = bgnbd.probability_alive(fit.params, x, t_x, T)
    assert np.all((p_alive > 0) & (p_alive <= 1))
    assert float(p_alive[x == 0].max()) == 1.0
    # Expected purchases in the next 39 weeks add up to about the holdout's 1,788 repeats
    # (the paper reports 1,746 predicted for this period).
    expected = bgnbd.expected_purchases(fit.params, 39.0, x, t_x, T)
    assert 1650 < float(expected.sum()) < 1850


def test_bgnbd_has_no_overflow_at_very_high_frequencies() -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x = np.array([0.0, 5.0, 500.0, 50000.0])
    p = bgnbd.probability_alive(params, x, np.array([0.0, 30.0, 38.0, 38.9]),
                                np.array([39.0, 39.0, 39.0, 39.0]))
    e = bgnbd.expected_purchases(params, 10.0, x, np.array([0.0, 30.0, 38.0, 38.9]),
                                 np.array([39.0, 39.0, 39.0, 39.0]))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(e))


def test_gamma_gamma_fits_the_cdnow_repeat_buyers_as_published(cdnow: Path) -> None:
    data = np.genfromtxt(cdnow / "cdnow_customers_summary_with_transactions.csv", delimiter=",",
                         names=True)
    fit = gamma_gamma.fit(data["x"], data["zbar"])
    assert fit.n == 946
    assert (round(fit.params["p"], 2), round(fit.params["q"], 2)) == (6.25, 3.74)
    # γ comes out 15.448 here against 15.44 published: this optimum's likelihood is higher than
    # the published parameters' on the same data, so the difference is the paper's optimiser.
    assert fit.params["gamma"] == pytest.approx(15.44, abs=0.01)
    keep = data["x"] > 0
    published = gamma_gamma.log_likelihood_rows(6.25, 3.74, 15.44, data["x"][keep],
                                                data["zbar"][keep]).sum()
    assert fit.log_likelihood >= published


def test_raw_cdnow_transactions_turn_into_the_published_summary(cdnow: Path) -> None:
    raw = np.loadtxt(cdnow / "CDNOW_sample.txt", dtype=str)
    customer = raw[:, 1].astype(np.int64)
    days = np.array([(date(int(d[:4]), int(d[4:6]), int(d[6:])) - date(1997, 1, 1)).days
                     for d in raw[:, 2]], dtype=np.int64)
    spend = raw[:, 4].astype(np.float64)
    end = (date(1997, 9, 30) - date(1997, 1, 1)).days
    summary = summarise(customer, days, spend, end, 7.0)
    published = np.genfromtxt(cdnow / "cdnow_customers_summary.csv", delimiter=",", names=True)
    assert summary.customer.tolist() == published["ID"].astype(int).tolist()
    assert summary.x.tolist() == published["frequency"].tolist()
    assert np.allclose(summary.t_x, published["recency"], atol=0.006)
    assert np.allclose(summary.T, published["T"], atol=0.006)


def test_residual_lifetime_closed_form_equals_the_sum() -> None:
    for n in (0, 1, 5, 30):
        closed = float(sbg.residual_lifetime(n, 0.704, 1.182, 0.1))
        assert closed == pytest.approx(sbg.residual_lifetime_by_sum(n, 0.704, 1.182, 0.1),
                                       rel=1e-9)
