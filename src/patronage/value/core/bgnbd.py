"""BG/NBD: purchases and P(alive) of non-contractual (occasional) buyers.

Fader, Hardie & Lee, "Counting your customers the easy way" (2005). Per customer: ``x`` repeat
purchases, the last at ``t_x``, observed for ``T`` (all in the model's time unit, e.g. weeks).
Log space throughout (``gammaln``, ``logaddexp``); identical rows are grouped and weighted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import betainc, betaln, digamma, gammaln, hyp2f1

from patronage.arrays import F64
from patronage.value.core.fitting import (
    NOT_FINITE,
    Fit,
    ModelInputError,
    as_column,
    check_params,
    fit_log_params,
    group_rows,
    same_length,
)

NAMES = ["r", "alpha", "a", "b"]

#: Within this distance of a = 1 the expected purchases are the analytic limit at a = 1 (the
#: general form is 0/0 there); the two agree to about this relative size at the switch.
A_NEAR_ONE = 1e-7


def histories(x: ArrayLike, t_x: ArrayLike, T: ArrayLike,
              place: str = "BG/NBD") -> tuple[F64, F64, F64]:
    """(x, t_x, T) checked: as many of each, finite, x whole repeat purchases ≥ 0,
    0 ≤ t_x ≤ T, and t_x = 0 when x = 0; otherwise :class:`ModelInputError` naming the field."""
    xs = as_column(x, "x (repeat purchases)", place, integer=True)
    ts = as_column(t_x, "t_x (time of the last purchase)", place)
    Ts = as_column(T, "T (time observed)", place)
    same_length(place, x=xs, t_x=ts, T=Ts)
    for what, bad in (("t_x is after T (the last purchase after the end of observation)",
                       ts > Ts),
                      ("t_x is not 0 with x = 0 (no repeat purchase has no time)",
                       (xs == 0) & (ts > 0))):
        if bad.any():
            at = int(np.argmax(bad))
            raise ModelInputError(f"{place}: {what} in row {at} (x={xs[at]:g}, "
                                  f"t_x={ts[at]:g}, T={Ts[at]:g}); {int(bad.sum())} row(s) "
                                  "like it")
    return xs, ts, Ts

ArrayLike = npt.ArrayLike


def log_likelihood_rows(r: float, alpha: float, a: float, b: float, x: F64, t_x: F64,
                        T: F64) -> F64:
    """Each customer's log-likelihood."""
    return _rows(r, alpha, a, b, x, t_x, T, *np.unique(x, return_inverse=True))


def _rows(r: float, alpha: float, a: float, b: float, x: F64, t_x: F64, T: F64,
          x_values: F64, x_index: npt.NDArray[np.intp]) -> F64:
    """:func:`log_likelihood_rows` with the terms that depend on ``x`` alone computed once per
    distinct ``x`` (``x == x_values[x_index]``): purchase counts repeat a great deal."""
    by_x = (gammaln(r + x_values) - gammaln(r) + r * np.log(alpha) + gammaln(a + b)
            + gammaln(b + x_values) - gammaln(b) - gammaln(a + b + x_values))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(x_values > 0, np.log(a) - np.log(np.maximum(b + x_values - 1, 1e-300)),
                             -np.inf)
    rx = r + x
    part_c = -rx * np.log(alpha + T)
    part_d = log_ratio[x_index] - rx * np.log(alpha + t_x)
    return np.asarray(by_x[x_index] + np.logaddexp(part_c, part_d), dtype=np.float64)


def log_likelihood(params: dict[str, float], x: F64, t_x: F64, T: F64,
                   weights: F64 | None = None) -> float:
    w = np.ones_like(x) if weights is None else weights
    rows = log_likelihood_rows(params["r"], params["alpha"], params["a"], params["b"], x, t_x, T)
    return float(np.sum(w * rows))


def _rows_and_gradient(r: float, alpha: float, a: float, b: float, x: F64, t_x: F64, T: F64,
                       x_values: F64, x_index: npt.NDArray[np.intp],
                       w: F64) -> tuple[float, F64]:
    """The weighted log-likelihood and its gradient in (log r, log α, log a, log b).

    Each row is ``A + logaddexp(C, D)`` with ``A`` depending on x alone, ``C = −(r+x)
    ln(α+T)`` and ``D = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`` (absent when x = 0); the
    derivatives of the log-sum-exp weigh those of C and D by their shares ``exp(C−L)``,
    ``exp(D−L)``."""
    rows = _rows(r, alpha, a, b, x, t_x, T, x_values, x_index)
    rx = r + x
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    c = -rx * log_at
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - rx * log_atx,
                     -np.inf)
        lse = np.logaddexp(c, d)
        share_c, share_d = np.exp(c - lse), np.exp(d - lse)
    bx = b + x_values
    psi_ab = digamma(a + b)
    d_r = (digamma(r + x_values) - digamma(r))[x_index] + np.log(alpha) \
        - share_c * log_at - share_d * log_atx
    d_alpha = r / alpha - rx * (share_c / (alpha + T) + share_d / (alpha + t_x))
    d_a = (psi_ab - digamma(a + b + x_values))[x_index] + share_d / a
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_b = np.where(x_values > 0, 1 / np.maximum(bx - 1, 1e-300), 0.0)[x_index]
    d_b = (psi_ab + digamma(bx) - digamma(b) - digamma(a + b + x_values))[x_index] \
        - share_d * inv_b
    gradient = np.array([r * np.dot(w, d_r), alpha * np.dot(w, d_alpha), a * np.dot(w, d_a),
                         b * np.dot(w, d_b)])
    return float(np.dot(w, rows)), gradient


def fit(x: ArrayLike, t_x: ArrayLike, T: ArrayLike,
        start: dict[str, float] | None = None) -> Fit:
    """Maximum likelihood r, α, a, b; identical (x, t_x, T) rows are fitted once, weighted,
    with the likelihood's exact gradient. ``start``: parameters to start the search from (e.g.
    a fit on a sample)."""
    (gx, gt, gT), w = group_rows(*histories(x, t_x, T, "BG/NBD fit"))
    if start is not None:
        check_params(start, NAMES, "BG/NBD fit start")

    x_values, x_index = np.unique(gx, return_inverse=True)

    def neg(p: F64) -> tuple[float, F64]:
        r, alpha, a, b = np.exp(p)
        value, gradient = _rows_and_gradient(r, alpha, a, b, gx, gt, gT, x_values, x_index, w)
        if not (np.isfinite(value) and np.isfinite(gradient).all()):
            return NOT_FINITE, np.zeros(4)
        return -value, -gradient

    scale = float(np.mean(gT * w) / np.mean(w))
    first = (np.log(np.array([1.0, max(scale, 1e-3), 1.0, 1.0])) if start is None
             else np.log(np.array([start[k] for k in NAMES])))
    return fit_log_params(neg, NAMES, first, float(w.sum()), gradient=True)


def log_alive_odds(params: dict[str, float], x: F64, t_x: F64, T: F64) -> F64:
    """log of  a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)  for x > 0 (−inf for x = 0)."""
    r, alpha, a, b = check_params(params, NAMES, "BG/NBD P(alive)")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)


def probability_alive(params: dict[str, float], x: ArrayLike, t_x: ArrayLike,
                      T: ArrayLike) -> F64:
    """P(still buying | history) = 1 / (1 + odds), computed without overflow."""
    odds = log_alive_odds(params, np.asarray(x, dtype=np.float64),
                          np.asarray(t_x, dtype=np.float64), np.asarray(T, dtype=np.float64))
    return np.asarray(np.exp(-np.logaddexp(0.0, odds)), dtype=np.float64)


def expected_purchases(params: dict[str, float], t: float, x: ArrayLike, t_x: ArrayLike,
                       T: ArrayLike) -> F64:
    """Expected purchases in the next ``t`` time units given the history (eq. 10 of the paper):
    P(alive | x, t_x, T) × :func:`expected_purchases_if_alive`."""
    x, t_x, T = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(x, t_x, T))
    return np.asarray(expected_purchases_if_alive(params, t, x, T)
                      * probability_alive(params, x, t_x, T), dtype=np.float64)


def expected_purchases_if_alive(params: dict[str, float], t: float, x: ArrayLike,
                                T: ArrayLike) -> F64:
    """Expected purchases in the next ``t`` time units of a customer still alive after ``x``
    purchases in ``T``: it does not depend on t_x, so histories that differ only there share it.
    """
    r, alpha, a, b = check_params(params, NAMES, "BG/NBD expected purchases")
    x, T = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(x, T))
    if abs(a - 1) < A_NEAR_ONE:
        return _expected_if_alive_at_a_one(r, alpha, b, t, x, T)
    z = t / (alpha + T + t)
    # ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z), rewritten by Euler's transformation as
    # ((α+T)/(α+T+t))^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z): the same value, but no huge
    # hypergeometric term multiplied by a vanishing power at high frequencies.
    log_shrink = np.log(alpha + T) - np.log(alpha + T + t)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = np.array(1 - np.exp((a - 1) * log_shrink)
                         * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z), dtype=np.float64)
        # With a and b both large (a drop-out probability nearly the same for everyone) the
        # transformed series overflows; there the original form converges, so it is used.
        bad = ~np.isfinite(inner)
        if bad.any():
            xb, zb, sb = x[bad], z[bad], log_shrink[bad]
            inner[bad] = 1 - np.exp((r + xb) * sb) * hyp2f1(r + xb, b + xb, a + b + xb - 1, zb)
        # With r and α large too (a purchase rate nearly the same for everyone, the Poisson
        # limit) scipy's 2F1 gives up; its series, summed term by term, still converges fast.
        bad = ~np.isfinite(inner)
        if bad.any():
            xb = x[bad]
            inner[bad] = 1 - _scaled_series(r + xb, b + xb, a + b + xb - 1, z[bad],
                                            (r + xb) * log_shrink[bad])
    if not np.isfinite(inner).all():
        raise ArithmeticError(f"BG/NBD expected purchases are not finite at {params}")
    return np.asarray((a + b + x - 1) / (a - 1) * inner, dtype=np.float64)


def _expected_if_alive_at_a_one(r: float, alpha: float, b: float, t: float, x: F64,
                                T: F64) -> F64:
    """The limit at a = 1 of :func:`expected_purchases_if_alive`, where its general form is 0/0.

    With ε = a − 1 the bracket is 1 − e^(εL) ₂F₁(b−r+ε, ε; b+x+ε; z) with L = ln(1−z), and
    ₂F₁(A, ε; C; z) = 1 + ε Σ_{n≥1} (A)_n / ((C)_n n) zⁿ + O(ε²); so the value tends to
    (b+x) · Σ_{n≥1} (1 − (b−r)_n / (b+x)_n) zⁿ / n  (using −ln(1−z) = Σ zⁿ/n), summed here
    term by term (every term has the sign of its first, the sum converges like Σ zⁿ/n)."""
    z = t / (alpha + T + t)
    A, C = b - r, b + x
    ratio = np.ones_like(z)  # (A)_n / (C)_n
    power = np.ones_like(z)  # zⁿ
    total = np.zeros_like(z)
    n = 0
    while True:
        ratio = ratio * (A + n) / (C + n)
        power = power * z
        n += 1
        term = (1 - ratio) * power / n
        total += term
        if bool((np.abs(term) <= 1e-17 * np.abs(total)).all() | (power < 1e-300).all()):
            break
        if n >= 10_000_000:
            raise ArithmeticError("BG/NBD expected purchases at a = 1: the series does not "
                                  "converge")
    return np.asarray(C * total, dtype=np.float64)


def expected_purchases_new(params: dict[str, float], t: ArrayLike) -> F64:
    """E[X(t)]: expected purchases of a new customer in their first ``t`` time units (eq. 7
    of the paper), (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]. It is the
    purchases if alive of a customer with no history (x = 0, T = 0: alive for sure), computed
    the same way (the limit at a = 1 included)."""
    times = np.asarray(t, dtype=np.float64)
    if not (np.isfinite(times).all() and (times >= 0).all()):
        raise ModelInputError(f"BG/NBD expected purchases: t must be finite and ≥ 0, got {t!r}")
    flat = times.reshape(-1)
    out = np.array([float(expected_purchases_if_alive(params, float(v), 0.0, 0.0))
                    for v in flat])
    return np.asarray(out.reshape(times.shape), dtype=np.float64)


def probability_of_purchases(params: dict[str, float], t: float, k: ArrayLike) -> F64:
    """P(X(t) = k): the probability that a new customer makes exactly ``k`` purchases in
    their first ``t`` time units (eq. 8 of the paper):

    B(a, b+k)/B(a, b) · Γ(r+k)/(Γ(r) k!) · (α/(α+t))^r (t/(α+t))^k
    + [k > 0] · B(a+1, b+k−1)/B(a, b) · (1 − Σ_{j<k} Γ(r+j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j)

    The first term (still buying after k purchases) in log space, the second (dropped out after
    the k-th) with the negative binomial's upper tail as a regularised incomplete beta
    I_{t/(α+t)}(k, r), so nothing is subtracted."""
    r, alpha, a, b = check_params(params, NAMES, "BG/NBD P(X(t) = k)")
    if not (np.isfinite(t) and t >= 0):
        raise ModelInputError(f"BG/NBD P(X(t) = k): t must be finite and ≥ 0, got {t!r}")
    ks = as_column(np.atleast_1d(np.asarray(k, dtype=np.float64)), "k (purchases)",
                   "BG/NBD P(X(t) = k)", integer=True)
    log_p = np.log(alpha) - np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(t) - np.log(alpha + t) if t > 0 else -np.inf
        alive = np.exp(betaln(a, b + ks) - betaln(a, b) + gammaln(r + ks) - gammaln(r)
                       - gammaln(ks + 1) + r * log_p + np.where(ks > 0, ks * log_q, 0.0))
    dropped = np.zeros_like(ks)
    some = ks > 0
    if some.any() and t > 0:
        dropped[some] = (np.exp(betaln(a + 1, b + ks[some] - 1) - betaln(a, b))
                         * betainc(ks[some], r, t / (alpha + t)))
    out = alive + dropped
    return np.asarray(out.reshape(np.shape(k)), dtype=np.float64)


def _scaled_series(A: F64, B: F64, C: F64, z: F64, log_scale: F64) -> F64:
    """exp(log_scale) · 2F1(A, B; C; z) for positive A, B, C and 0 ≤ z < 1, summed from its
    power series with the scale carried in every term: each term is positive and the sum stays
    below one where it is used, so nothing overflows or cancels."""
    term = np.exp(log_scale)
    total = term.copy()
    n = 0
    while True:
        ratio = (A + n) * (B + n) / ((C + n) * (n + 1)) * z
        term = term * ratio
        total += term
        n += 1
        if bool(((ratio < 1) & (term <= 1e-17 * total)).all()):
            return np.asarray(total, dtype=np.float64)
        if n >= 1_000_000:
            raise ArithmeticError("BG/NBD expected purchases: the series does not converge")

