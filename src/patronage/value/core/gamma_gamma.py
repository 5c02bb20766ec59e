"""Gamma-Gamma: spend per order of repeat buyers (Fader, Hardie & Lee 2005b).

Per customer with ``x`` ≥ 1 repeat purchases of mean value ``m``: spend per order ~ Gamma(p, ν),
ν ~ Gamma(q, γ). Log space throughout.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

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

NAMES = ["p", "q", "gamma"]

ArrayLike = npt.ArrayLike


def log_likelihood_rows(p: float, q: float, gamma: float, x: F64, m: F64) -> F64:
    return _rows(p, q, gamma, x, m, *np.unique(x, return_inverse=True))


def _rows(p: float, q: float, gamma: float, x: F64, m: F64, x_values: F64,
          x_index: npt.NDArray[np.intp]) -> F64:
    """:func:`log_likelihood_rows` with the Γ terms computed once per distinct ``x``."""
    px_values = p * x_values
    by_x = gammaln(px_values + q) - gammaln(px_values) - gammaln(q) + q * np.log(gamma)
    px = p * x
    return np.asarray(by_x[x_index] + (px - 1) * np.log(m) + px * np.log(x)
                      - (px + q) * np.log(gamma + m * x), dtype=np.float64)


def _value_and_gradient(p: float, q: float, gamma: float, w: F64, x: F64, m: F64,
                        x_values: F64, x_index: npt.NDArray[np.intp]) -> tuple[float, F64]:
    """Σ w·ℓ and its gradient in (log p, log q, log γ); the Γ and ψ terms once per distinct x:
    ∂ℓ/∂p = x(ψ(px+q) − ψ(px) + ln m + ln x − ln(γ+mx)), ∂ℓ/∂q = ψ(px+q) − ψ(q) + ln γ −
    ln(γ+mx), ∂ℓ/∂γ = q/γ − (px+q)/(γ+mx)."""
    px_values = p * x_values
    by_x = gammaln(px_values + q) - gammaln(px_values) - gammaln(q) + q * np.log(gamma)
    psi_sum = digamma(px_values + q)
    psi_gap = (psi_sum - digamma(px_values))[x_index]
    psi_sum = psi_sum[x_index]
    px = p * x
    log_m, log_x = np.log(m), np.log(x)
    log_total = np.log(gamma + m * x)
    rows = by_x[x_index] + (px - 1) * log_m + px * log_x - (px + q) * log_total
    d_p = float(np.dot(w, x * (psi_gap + log_m + log_x - log_total)))
    d_q = float(np.dot(w, psi_sum - log_total)) + float(w.sum()) * (np.log(gamma) - digamma(q))
    d_g = float(w.sum()) * q / gamma - float(np.dot(w, (px + q) / (gamma + m * x)))
    return float(np.dot(w, rows)), np.array([p * d_p, q * d_q, gamma * d_g])


def fit(x: ArrayLike, m: ArrayLike, start: dict[str, float] | None = None) -> Fit:
    """Maximum likelihood p, q, γ over customers with x > 0 and m > 0 (others are ignored).
    ``x`` whole repeat purchases ≥ 0, ``m`` finite mean spend ≥ 0; at least one repeat buyer
    with spend; otherwise :class:`ModelInputError` naming the field."""
    xs = as_column(x, "x (repeat purchases)", "Gamma-Gamma fit", integer=True)
    ms = as_column(m, "m (mean spend per repeat purchase)", "Gamma-Gamma fit")
    same_length("Gamma-Gamma fit", x=xs, m=ms)
    if start is not None:
        check_params(start, NAMES, "Gamma-Gamma fit start")
    keep = (xs > 0) & (ms > 0)
    if not keep.any():
        raise ModelInputError("Gamma-Gamma fit: no customer has a repeat purchase with spend "
                              "(x > 0 and m > 0): there is nothing to fit")
    (gx, gm), w = group_rows(xs[keep], ms[keep])

    x_values, x_index = np.unique(gx, return_inverse=True)

    def neg(params: F64) -> tuple[float, F64]:
        p, q, g = np.exp(params)
        value, grad = _value_and_gradient(p, q, g, w, gx, gm, x_values, x_index)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return NOT_FINITE, np.zeros(3)
        return -value, -grad

    first = (np.log(np.array([1.0, 1.0, 1.0])) if start is None
             else np.log(np.array([start[k] for k in NAMES])))
    return fit_log_params(neg, NAMES, first, float(w.sum()), gradient=True)


def expected_spend(params: dict[str, float], x: ArrayLike, m: ArrayLike) -> F64:
    """Expected spend per future order given ``x`` purchases of mean ``m`` (population mean when
    x = 0)."""
    p, q, g = check_params(params, NAMES, "Gamma-Gamma expected spend")
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    return np.asarray((g + m * x) * p / (p * x + q - 1), dtype=np.float64)
