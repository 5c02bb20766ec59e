"""Maximum likelihood on log-parameters, with convergence reported as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters by name, the maximised log-likelihood, and whether the
    optimiser says it converged (with its own message, never hidden)."""

    params: dict[str, float]
    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    n: float  # customers (sum of weights)


#: Log-parameters stay within ±LOG_BOUND (e^20 ≈ 5·10⁸): a likelihood that keeps rising as a
#: parameter runs off to infinity (no heterogeneity in the data, say) stops there, reported as
#: not converged with the parameter named, instead of searching forever.
LOG_BOUND = 20.0
#: Iterations of the gradient search (three times as many for the derivative-free second
#: opinion): well-posed fits here take a few dozen; a search still going after this many is
#: crawling along a ridge and is reported as not converged.
MAX_ITERATIONS = 300


def _at_bound(names: list[str], x: F64) -> list[str]:
    return [name for name, v in zip(names, x, strict=True) if abs(v) >= LOG_BOUND - 1e-6]


def fit_log_params(neg_ll: Callable[[F64], Any], names: list[str], start: F64,
                   n: float, *, gradient: bool = False) -> Fit:
    """Minimise ``neg_ll`` over log-parameters (so every parameter stays positive). With
    ``gradient``, ``neg_ll`` returns the value and its gradient in the log-parameters."""
    start = np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1)
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    result = minimize(neg_ll, start, method="L-BFGS-B", bounds=bounds, jac=gradient,
                      options={"maxiter": MAX_ITERATIONS, "gtol": 1e-9, "ftol": 1e-13})
    if not result.success and not _at_bound(names, result.x):
        # A second opinion from a derivative-free method before giving up honestly.
        def value_only(p: F64) -> float:
            return float(neg_ll(p)[0] if gradient else neg_ll(p))

        retry = minimize(value_only, result.x, method="Nelder-Mead", bounds=bounds,
                         options={"maxiter": 3 * MAX_ITERATIONS, "xatol": 1e-10,
                                  "fatol": 1e-12})
        if retry.fun <= result.fun:
            result = retry
    at_bound = _at_bound(names, result.x)
    values = np.exp(result.x)
    converged, message = bool(result.success), str(result.message)
    if at_bound:
        converged = False
        message = (f"{', '.join(at_bound)} ran to the bound e^±{LOG_BOUND:.0f}: the likelihood "
                   "keeps rising toward a limit (e.g. no heterogeneity between customers)")
    return Fit(
        params={k: float(v) for k, v in zip(names, values, strict=True)},
        log_likelihood=float(-result.fun), converged=converged,
        iterations=int(result.get("nit", 0)), message=message, n=n,
    )


def group_rows(*columns: F64) -> tuple[list[F64], F64]:
    """Identical rows collapsed into one with a weight (a million rows become a few thousand)."""
    unique, counts, _ = group_rows_inverse(*columns)
    return unique, counts


def group_rows_inverse(*columns: F64) -> tuple[list[F64], F64, npt.NDArray[np.int64]]:
    """:func:`group_rows`, and for every input row the index of its group."""
    n = columns[0].shape[0]
    if n == 0:
        return [c[:0] for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    new = np.ones(n, dtype=bool)
    for c in columns:
        sorted_c = c[order]
        new[1:] &= sorted_c[1:] == sorted_c[:-1]
    new = ~new
    new[0] = True
    group_of_sorted = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group_of_sorted
    firsts = order[new]
    counts = np.bincount(group_of_sorted).astype(np.float64)
    return [c[firsts] for c in columns], counts, inverse
