"""Gamma-Gamma: spend per order of repeat buyers (Fader, Hardie & Lee 2005b).

Per customer with ``x`` ≥ 1 repeat purchases of mean value ``m``: spend per order ~ Gamma(p, ν),
ν ~ Gamma(q, γ). Log space throughout.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

from patronage.value.fitting import F64, Fit, fit_log_params, group_rows

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


def fit(x: ArrayLike, m: ArrayLike, start: dict[str, float] | None = None) -> Fit:
    """Maximum likelihood p, q, γ over customers with x > 0 and m > 0 (others are ignored)."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    keep = (xs > 0) & (ms > 0)
    (gx, gm), w = group_rows(xs[keep], ms[keep])

    x_values, x_index = np.unique(gx, return_inverse=True)

    def neg(params: F64) -> float:
        p, q, g = np.exp(params)
        value = -float(np.dot(w, _rows(p, q, g, gx, gm, x_values, x_index)))
        return value if np.isfinite(value) else 1e300

    names = ["p", "q", "gamma"]
    first = (np.log(np.array([1.0, 1.0, 1.0])) if start is None
             else np.log(np.array([start[k] for k in names])))
    return fit_log_params(neg, names, first, float(w.sum()))


def expected_spend(params: dict[str, float], x: ArrayLike, m: ArrayLike) -> F64:
    """Expected spend per future order given ``x`` purchases of mean ``m`` (population mean when
    x = 0)."""
    p, q, g = params["p"], params["q"], params["gamma"]
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    return np.asarray((g + m * x) * p / (p * x + q - 1), dtype=np.float64)
