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

from patronage.value.fitting import F64, Fit, fit_log_params

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
    """Counts alive at the start of periods 0..k → (periods, churned, weights) rows."""
    counts = np.asarray(alive, dtype=np.float64)
    lost = counts[:-1] - counts[1:]
    t = np.arange(1, counts.shape[0], dtype=np.float64)
    periods = np.concatenate([t, [counts.shape[0] - 1.0]])
    churned = np.concatenate([np.ones_like(t), [0.0]])
    weights = np.concatenate([lost, [counts[-1]]])
    return periods, churned, weights


def fit(periods: ArrayLike, churned: ArrayLike, weights: ArrayLike | None = None) -> Fit:
    """Maximum likelihood α, β from individual (or weighted) observations."""
    p = np.asarray(periods, dtype=np.float64)
    c = np.asarray(churned, dtype=np.float64)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)

    def neg(x: F64) -> float:
        a, b = np.exp(x)
        return -log_likelihood(a, b, p, c, w)

    return fit_log_params(neg, ["alpha", "beta"], np.log(np.array([1.0, 1.0])), float(w.sum()))


def fit_cohorts(cohorts: list[ArrayLike]) -> Fit:
    """Maximum likelihood α, β from several cohorts' counts alive at the start of each period."""
    rows = [cohort_to_individual(c) for c in cohorts]
    return fit(np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
               np.concatenate([r[2] for r in rows]))
