"""Lifetime value of every customer from the fitted models, on arrays (no database).

Two kinds of customer:

- **autoship** (contractual): a customer with a live subscription (active, paused or being
  recovered). The shifted-beta-geometric model is fitted on every subscription ever started
  (months survived, cancelled or still running), several start cohorts at once, per segment where
  a segment has enough subscriptions (:data:`MIN_SEGMENT`) and pooled otherwise. For a subscriber
  who has completed ``n`` months: P(alive) is the retention rate of the coming month
  ``r(n+1)``; expected orders over the horizon ``Σ_{k=1..H} S(n+k)/S(n)``; future value the
  monthly autoship value × the discounted residual lifetime (:func:`sbg.residual_lifetime`).
- **occasional** (non-contractual): every other customer with an order. BG/NBD on (x, t_x, T)
  in weeks gives P(alive) and expected purchases; Gamma-Gamma the spend per order; future value
  ``Σ_{m=1..H} (E[N(m)] − E[N(m−1)]) · spend · (1+d)^−m`` over months of 365.25/12 days.

The discount rate ``d`` is per month; the time unit of each model is explicit in its fit.

A model that cannot be fitted yet (a new company) is not fitted: its documented prior stands in
(:func:`prior_fit`, ``source`` "prior", the reason in the message) and the values computed
from it say so:

- BG/NBD with fewer than :data:`MIN_FIT_CUSTOMERS` buyers or no repeat purchase at all:
  :data:`BGNBD_PRIOR`, the published CDNOW parameters (Fader, Hardie & Lee 2005), in weeks
  like the model here;
- Gamma-Gamma with fewer than :data:`MIN_SPEND_FIT` repeat buyers: the published CDNOW shapes
  p, q with the scale γ set so that the expected spend per order of a customer without a
  history is the company's mean order value (:func:`gamma_gamma_prior`);
- sBG with fewer than :data:`MIN_FIT_CUSTOMERS` subscriptions, none that has completed a month
  or no cancellation yet: :data:`SBG_PRIOR`, a stated industry prior for monthly autoship
  (θ ~ Beta(1, 3): a quarter cancel in the first month, retention rising month by month, a
  fifth left after a year).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I64, Bools
from patronage.value.core import bgnbd, gamma_gamma, sbg
from patronage.value.core.fitting import PRIOR, Fit, group_rows, group_rows_inverse, prior_fit

MIN_SEGMENT = 500
WEEKS_PER_MONTH = 365.25 / 12 / 7

#: Fewer customers (or subscriptions) than this and a model is not fitted: its prior is used.
MIN_FIT_CUSTOMERS = 20
#: Fewer repeat buyers than this and the spend model is not fitted: its prior is used.
MIN_SPEND_FIT = 10
#: BG/NBD prior: the published CDNOW fit (weeks).
BGNBD_PRIOR = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
#: Gamma-Gamma prior shapes: the published CDNOW fit; γ is scaled to the company's spend.
GAMMA_GAMMA_PRIOR_SHAPE = {"p": 6.25, "q": 3.74}
#: sBG prior for monthly autoship: θ ~ Beta(1, 3), mean monthly churn 25%.
SBG_PRIOR = {"alpha": 1.0, "beta": 3.0}


def gamma_gamma_prior(mean_order: float) -> dict[str, float]:
    """The Gamma-Gamma prior whose expected spend per order, p·γ/(q−1), is ``mean_order``."""
    p, q = GAMMA_GAMMA_PRIOR_SHAPE["p"], GAMMA_GAMMA_PRIOR_SHAPE["q"]
    return {"p": p, "q": q, "gamma": mean_order * (q - 1) / p}


def _too_few(n: int, what: str) -> list[str]:
    return [f"too few {what} to fit ({n} < {MIN_FIT_CUSTOMERS})"] if n < MIN_FIT_CUSTOMERS \
        else []


def bgnbd_or_prior(x: F64, t_x: F64, T: F64, fit: Callable[[], Fit]) -> Fit:
    """``fit()`` when BG/NBD can be fitted on these buyers, otherwise its prior, saying why."""
    reasons = []
    if not (x > 0).any():
        reasons.append(f"no repeat purchases yet ({x.shape[0]} buyers, none bought twice)")
    reasons += _too_few(x.shape[0], "buyers")
    if reasons:
        return prior_fit(BGNBD_PRIOR, bgnbd.log_likelihood(BGNBD_PRIOR, x, t_x, T),
                         float(x.shape[0]), "; ".join(reasons))
    return fit()


def sbg_or_prior(periods: F64, churned: F64, weights: F64) -> Fit:
    """sBG fitted on these subscriptions when it can be, otherwise its prior, saying why."""
    n = int(weights.sum())
    reasons = []
    if not (weights * (periods > 0)).any():
        reasons.append(f"no survivor history yet ({n} subscriptions, none has completed a "
                       "month)")
    elif not (weights * churned).any():
        reasons.append(f"no cancellations yet ({n} subscriptions, none cancelled)")
    reasons += _too_few(n, "subscriptions")
    if reasons:
        return prior_fit(SBG_PRIOR, sbg.log_likelihood(SBG_PRIOR["alpha"], SBG_PRIOR["beta"],
                                                       periods, churned, weights),
                         float(weights.sum()), "; ".join(reasons))
    return sbg.fit(periods, churned, weights)


@dataclass(frozen=True)
class SegmentFit:
    """One model fitted on one segment (``segment`` −1: pooled over the segments too small)."""

    model: str
    segment: int
    fit: Fit


def fit_by_segment(segment: I64, fit_rows: Callable[[Bools], Fit], model: str,
                   min_rows: int = MIN_SEGMENT) -> tuple[list[SegmentFit], I64]:
    """Fit each segment with at least ``min_rows`` rows on its own, the rest pooled; returns the
    fits and, per row, the index of the fit that applies to it."""
    codes, counts = np.unique(segment, return_counts=True)
    fits: list[SegmentFit] = []
    which = np.full(segment.shape[0], -1, dtype=np.int64)
    pooled = np.ones(segment.shape[0], dtype=bool)
    if (counts >= min_rows).sum() > 1:
        for code in codes[counts >= min_rows].tolist():
            rows = segment == code
            which[rows] = len(fits)
            pooled &= ~rows
            fits.append(SegmentFit(model, int(code), fit_rows(rows)))
    if pooled.any():
        which[pooled] = len(fits)
        fits.append(SegmentFit(model, -1, fit_rows(pooled)))
    return fits, which


@dataclass(frozen=True)
class Lifetimes:
    """Per customer: P(alive), expected orders over the horizon, future value (minor units),
    and whether any of that comes from a prior rather than a fit."""

    p_alive: F64
    expected_orders: F64
    future_value: F64
    from_prior: Bools


def autoship_lifetimes(months: F64, churned: F64, segment: I64, live: Bools,
                       monthly_value: F64, discount: float,
                       horizon: int) -> tuple[list[SegmentFit], Lifetimes]:
    """``months`` survived and ``churned`` (1/0) for every subscription ever started (the fit);
    the lifetimes are computed for the ``live`` ones."""

    def fit_rows(rows: Bools) -> Fit:
        (periods, lost), weights = group_rows(months[rows], churned[rows])
        return sbg_or_prior(periods, lost, weights)

    fits, which = fit_by_segment(segment, fit_rows, "sbg")
    p_alive = np.zeros(months.shape[0])
    orders = np.zeros(months.shape[0])
    value = np.zeros(months.shape[0])
    from_prior = np.zeros(months.shape[0], dtype=bool)
    steps = np.arange(1, horizon + 1, dtype=np.float64)
    for index, seg in enumerate(fits):
        a, b = seg.fit.params["alpha"], seg.fit.params["beta"]
        rows = live & (which == index)
        from_prior[rows] = seg.fit.source == PRIOR
        # Few distinct tenures: compute once per tenure and spread.
        tenures, inverse = np.unique(months[rows], return_inverse=True)
        log_now = sbg.log_survival(tenures, a, b)
        ahead = np.exp(sbg.log_survival(tenures[:, None] + steps[None, :], a, b)
                       - log_now[:, None]).sum(axis=1)
        p_alive[rows] = sbg.retention_rate(tenures + 1, a, b)[inverse]
        orders[rows] = ahead[inverse]
        value[rows] = sbg.residual_lifetime(tenures, a, b, discount)[inverse] * monthly_value[rows]
    return fits, Lifetimes(p_alive, orders, value, from_prior)


#: Occasional-buyer models are first fitted on a sample of this many rows (fixed seed); the
#: full fits start from there and need few iterations. The result is the full-data optimum.
WARM_START_SAMPLE = 50_000


def _sample(n: int) -> I64:
    if n <= WARM_START_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, WARM_START_SAMPLE, replace=False))


def occasional_lifetimes(x: F64, t_x: F64, T: F64, spend: F64, segment: I64,
                         discount: float, horizon: int,
                         first_spend: F64 | None = None) -> tuple[list[SegmentFit], Lifetimes]:
    """(x, t_x, T) in weeks, mean repeat spend and the first purchase's spend (minor units) of
    every occasional buyer (without ``first_spend`` the mean order value for the spend prior
    is the repeat purchases' alone)."""
    warm: dict[str, float] = {}

    def fit_bgnbd(rows: Bools) -> Fit:
        def fitted() -> Fit:
            if not warm:
                sample = _sample(x.shape[0])
                warm.update(bgnbd.fit(x[sample], t_x[sample], T[sample]).params)
            return bgnbd.fit(x[rows], t_x[rows], T[rows], start=warm)

        return bgnbd_or_prior(x[rows], t_x[rows], T[rows], fitted)

    fits, which = fit_by_segment(segment, fit_bgnbd, "bgnbd")
    repeat = (x > 0) & (spend > 0)
    spend_fit = None
    if repeat.sum() >= MIN_SPEND_FIT:
        xr, mr = x[repeat], spend[repeat]
        picked = _sample(xr.shape[0])
        spend_warm = gamma_gamma.fit(xr[picked], mr[picked]).params
        spend_fit = gamma_gamma.fit(xr, mr, start=spend_warm)
    else:
        orders_count = float(x.sum()) + (x.shape[0] if first_spend is not None else 0)
        total = float(np.dot(x, spend)) + (float(first_spend.sum())
                                           if first_spend is not None else 0.0)
        if orders_count > 0 and total > 0:
            prior = gamma_gamma_prior(total / orders_count)
            spend_fit = prior_fit(
                prior, float(gamma_gamma.log_likelihood_rows(
                    prior["p"], prior["q"], prior["gamma"], x[repeat], spend[repeat]).sum()),
                float(repeat.sum()),
                f"too few repeat buyers to fit spend ({int(repeat.sum())} < {MIN_SPEND_FIT}); "
                f"γ set for a mean order of {total / orders_count:.0f}")
    if spend_fit is not None:
        fits.append(SegmentFit("gamma_gamma", -1, spend_fit))
        per_order = gamma_gamma.expected_spend(spend_fit.params, x, spend)
    else:
        per_order = np.zeros(x.shape[0])
    spend_prior = spend_fit is not None and spend_fit.source == PRIOR
    p_alive = np.zeros(x.shape[0])
    orders = np.zeros(x.shape[0])
    value = np.zeros(x.shape[0])
    from_prior = np.zeros(x.shape[0], dtype=bool)
    for index, seg in enumerate(fits):
        if seg.model != "bgnbd":
            continue
        rows = which == index
        from_prior[rows] = spend_prior or seg.fit.source == PRIOR
        params = seg.fit.params
        # The purchases of a customer still alive depend on (x, T) only: computed once per
        # distinct pair, every month; P(alive), a closed form, per customer.
        (gx, gT), _, inverse = group_rows_inverse(x[rows], T[rows])
        previous = np.zeros(gx.shape[0])
        discounted = np.zeros(gx.shape[0])
        for month in range(1, horizon + 1):
            cumulative = bgnbd.expected_purchases_if_alive(params, month * WEEKS_PER_MONTH,
                                                           gx, gT)
            discounted += (cumulative - previous) * (1.0 + discount) ** -month
            previous = cumulative
        alive = bgnbd.probability_alive(params, x[rows], t_x[rows], T[rows])
        p_alive[rows] = alive
        orders[rows] = previous[inverse] * alive
        value[rows] = discounted[inverse] * alive * per_order[rows]
    return fits, Lifetimes(p_alive, orders, value, from_prior)
