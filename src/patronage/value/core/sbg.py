"""Shifted-beta-geometric (sBG): retention of contractual customers such as autoship.

Fader & Hardie, "How to Project Customer Retention" (2007). Each customer churns each period with
probability θ, θ ~ Beta(α, β). Periods are the model's time unit (months for autoship).

- P(T = t) = B(α + 1, β + t − 1) / B(α, β), t = 1, 2, …  (churn in period t)
- S(t) = B(α, β + t) / B(α, β)                          (still active after t periods)
- r(t) = (β + t − 1) / (α + β + t − 1)                  (retention rate in period t)
- residual value of a customer active after n periods, next renewal undiscounted:
  Σ_{k≥0} S(n+k+1)/S(n) · (1+d)^−k = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d))

Everything is computed in log space (``betaln``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, hyp2f1

from patronage.arrays import F64
from patronage.value.core.fitting import (
    NOT_FINITE,
    Fit,
    ModelInputError,
    as_column,
    fit_log_params,
    same_length,
)

ArrayLike = npt.ArrayLike


def log_churn_probability(t: ArrayLike, alpha: float, beta: float) -> F64:
    t = np.asarray(t, dtype=np.float64)
    return np.asarray(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta), dtype=np.float64)


def log_survival(t: ArrayLike, alpha: float, beta: float) -> F64:
    t = np.asarray(t, dtype=np.float64)
    return np.asarray(betaln(alpha, beta + t) - betaln(alpha, beta), dtype=np.float64)


def survival(t: ArrayLike, alpha: float, beta: float) -> F64:
    return np.exp(log_survival(t, alpha, beta))


def retention_rate(t: ArrayLike, alpha: float, beta: float) -> F64:
    t = np.asarray(t, dtype=np.float64)
    return np.asarray((beta + t - 1) / (alpha + beta + t - 1), dtype=np.float64)


def residual_lifetime(n: ArrayLike, alpha: float, beta: float, discount: float) -> F64:
    """Expected discounted number of future payments of a customer active after ``n`` periods
    (the next renewal counted undiscounted); ``discount`` is the per-period rate."""
    n = np.asarray(n, dtype=np.float64)
    x = 1.0 / (1.0 + discount)
    return np.asarray((beta + n) / (alpha + beta + n)
                      * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, x), dtype=np.float64)


def residual_lifetime_by_sum(n: float, alpha: float, beta: float, discount: float,
                             horizon: int = 20000) -> float:
    """The same as :func:`residual_lifetime`, summed term by term (the reference)."""
    k = np.arange(horizon, dtype=np.float64)
    ratio = np.exp(log_survival(n + k + 1, alpha, beta) - log_survival(n, alpha, beta))
    return float(np.sum(ratio * np.exp(-k * np.log1p(discount))))


def log_likelihood(alpha: float, beta: float, periods: F64, churned: F64,
                   weights: F64 | None = None) -> float:
    """Individual data: each customer observed for ``periods`` periods, churned in the last one
    (``churned`` 1) or still active after it (0)."""
    w = np.ones_like(periods) if weights is None else weights
    ll = np.where(churned > 0, log_churn_probability(periods, alpha, beta),
                  log_survival(periods, alpha, beta))
    return float(np.sum(w * ll))


def cohort_to_individual(alive: ArrayLike) -> tuple[F64, F64, F64]:
    """Counts alive at the start of periods 0..k → (periods, churned, weights) rows. The
    counts must be whole, start above 0, cover at least one period and never rise (nobody
    comes back); otherwise :class:`ModelInputError` naming the period."""
    counts = as_column(alive, "alive (customers at the start of each period)", "sBG cohort",
                       integer=True)
    if counts.shape[0] < 2:
        raise ModelInputError("sBG cohort: alive needs the count at the start of period 0 and "
                              "at least one more period (no survivor history yet)")
    if counts[0] <= 0:
        raise ModelInputError("sBG cohort: alive at the start of period 0 is 0: nobody to follow")
    rising = counts[1:] > counts[:-1]
    if rising.any():
        at = int(np.argmax(rising)) + 1
        raise ModelInputError(f"sBG cohort: alive rises from {counts[at - 1]:g} to "
                              f"{counts[at]:g} at period {at}: survivor counts cannot increase")
    lost = counts[:-1] - counts[1:]
    t = np.arange(1, counts.shape[0], dtype=np.float64)
    periods = np.concatenate([t, [counts.shape[0] - 1.0]])
    churned = np.concatenate([np.ones_like(t), [0.0]])
    weights = np.concatenate([lost, [counts[-1]]])
    return periods, churned, weights


def fit(periods: ArrayLike, churned: ArrayLike, weights: ArrayLike | None = None) -> Fit:
    """Maximum likelihood α, β from individual (or weighted) observations: ``periods`` whole
    periods observed (≥ 1 when churned: a customer churns in period 1 at the earliest),
    ``churned`` 0 or 1, ``weights`` ≥ 0 adding up to more than 0."""
    p, c, w = observations(periods, churned, weights, "sBG fit")

    def neg(x: F64) -> float:
        a, b = np.exp(x)
        value = -log_likelihood(a, b, p, c, w)
        return value if np.isfinite(value) else NOT_FINITE

    return fit_log_params(neg, ["alpha", "beta"], np.log(np.array([1.0, 1.0])), float(w.sum()))


def observations(periods: ArrayLike, churned: ArrayLike, weights: ArrayLike | None,
                 place: str) -> tuple[F64, F64, F64]:
    """(periods, churned, weights) checked as :func:`fit` describes them."""
    p = as_column(periods, "periods", place, integer=True)
    c = as_column(churned, "churned", place, integer=True)
    w = (np.ones_like(p) if weights is None
         else as_column(weights, "weights", place))
    same_length(place, periods=p, churned=c, weights=w)
    for what, bad in (("churned is not 0 or 1", c > 1),
                      ("a churned customer has 0 periods (churn is in period 1 at the earliest)",
                       (c == 1) & (p == 0))):
        if bad.any():
            at = int(np.argmax(bad))
            raise ModelInputError(f"{place}: {what} in row {at} (periods={p[at]:g}, "
                                  f"churned={c[at]:g})")
    if w.sum() <= 0:
        raise ModelInputError(f"{place}: weights add up to 0: there is nothing to fit")
    return p, c, w


def fit_cohorts(cohorts: list[ArrayLike]) -> Fit:
    """Maximum likelihood α, β from several cohorts' counts alive at the start of each period."""
    if not cohorts:
        raise ModelInputError("sBG cohorts: there are none: there is nothing to fit")
    rows = [cohort_to_individual(c) for c in cohorts]
    return fit(np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
               np.concatenate([r[2] for r in rows]))
