"""Maximum likelihood on log-parameters, with convergence reported as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from patronage.arrays import F64, I64
from patronage.errors import PatronageError

#: What a fit's parameters come from: the data (maximum likelihood) or a documented prior.
FITTED, PRIOR = "fitted", "prior"


class ModelInputError(PatronageError):
    """Data or parameters a value model cannot use, naming the field and the reason."""

    code = "invalid"


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters by name, the maximised log-likelihood, and whether the
    optimiser says it converged (with its own message, never hidden).

    ``standard_errors``: per parameter, from the inverse of the log-likelihood's Hessian at the
    optimum (NaN where the Hessian there is not positive definite, e.g. not converged).
    ``source``: :data:`FITTED`, or :data:`PRIOR` for parameters not fitted on the data (a
    model that cannot be fitted yet; ``message`` says why)."""

    params: dict[str, float]
    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    n: float  # customers (sum of weights)
    standard_errors: dict[str, float] = field(default_factory=dict)
    source: str = FITTED


def prior_fit(params: dict[str, float], log_likelihood: float, n: float, reason: str) -> Fit:
    """A model not fitted: the documented prior ``params``, with the reason in the message and
    the data's log-likelihood at them."""
    return Fit(params=dict(params), log_likelihood=float(log_likelihood), converged=False,
               iterations=0, message=f"prior used: {reason}", n=n,
               standard_errors={k: float("nan") for k in params}, source=PRIOR)


def as_column(values: Any, name: str, place: str, *, integer: bool = False,
              positive: bool = False) -> F64:
    """A one-dimensional float array of finite, non-negative numbers (``positive``: > 0;
    ``integer``: whole numbers), or :class:`ModelInputError` naming ``place`` and ``name``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{place}: {name} is not a list of numbers ({exc})") from exc
    if array.ndim != 1:
        raise ModelInputError(f"{place}: {name} must be one number per row, got shape "
                              f"{array.shape}")
    if array.size == 0:
        raise ModelInputError(f"{place}: {name} is empty: there is nothing to fit")
    for what, bad in (("not finite (NaN or infinite)", ~np.isfinite(array)),
                      ("negative", array < 0),
                      ("zero", (array == 0) if positive else np.zeros(array.size, dtype=bool)),
                      ("not a whole number",
                       (array != np.round(array)) if integer
                       else np.zeros(array.size, dtype=bool))):
        if bad.any():
            at = int(np.argmax(bad))
            raise ModelInputError(f"{place}: {name} is {what} in row {at} ({float(array[at])!r}); "
                                  f"{int(bad.sum())} row(s) like it")
    return array


def same_length(place: str, **columns: F64) -> None:
    sizes = {name: c.shape[0] for name, c in columns.items()}
    if len(set(sizes.values())) > 1:
        raise ModelInputError(f"{place}: the columns differ in length ("
                              + ", ".join(f"{k} {v}" for k, v in sizes.items()) + ")")


def check_params(params: dict[str, float], names: list[str], place: str) -> list[float]:
    """The named parameters, each finite and positive, or :class:`ModelInputError`."""
    out = []
    for name in names:
        if name not in params:
            raise ModelInputError(f"{place}: parameter {name} is missing")
        value = float(params[name])
        if not (np.isfinite(value) and value > 0):
            raise ModelInputError(f"{place}: parameter {name} must be a positive number, got "
                                  f"{value!r}")
        out.append(value)
    return out


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

    def value_of(p: F64) -> float:
        return float(neg_ll(p)[0] if gradient else neg_ll(p))

    first = value_of(start)
    if not (np.isfinite(first) and first < NOT_FINITE):
        # Nothing to search from: the optimiser would stop here and call it converged.
        return Fit(params={k: float(v) for k, v in zip(names, np.exp(start), strict=True)},
                   log_likelihood=float("nan"), converged=False, iterations=0,
                   message="the log-likelihood is not finite at the starting values",
                   n=n, standard_errors={k: float("nan") for k in names})
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    result = minimize(neg_ll, start, method="L-BFGS-B", bounds=bounds, jac=gradient,
                      options={"maxiter": MAX_ITERATIONS, "gtol": 1e-9, "ftol": 1e-13})
    if not result.success and not _at_bound(names, result.x):
        # A second opinion from a derivative-free method before giving up honestly.
        retry = minimize(value_of, result.x, method="Nelder-Mead", bounds=bounds,
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
    if not (np.isfinite(result.fun) and result.fun < NOT_FINITE):
        converged = False
        message = "the log-likelihood is not finite where the search stopped"
    errors = (standard_errors(value_of, result.x,
                              (lambda p: np.asarray(neg_ll(p)[1], dtype=np.float64))
                              if gradient else None)
              if converged else np.full(len(names), np.nan))
    return Fit(
        params={k: float(v) for k, v in zip(names, values, strict=True)},
        log_likelihood=float(-result.fun), converged=converged,
        iterations=int(result.get("nit", 0)), message=message, n=n,
        standard_errors={k: float(v) for k, v in zip(names, errors, strict=True)},
    )


#: The value a negative log-likelihood function returns where the likelihood is not finite.
NOT_FINITE = 1e300


def hessian(f: Callable[[F64], float], x: F64) -> F64:
    """The Hessian of ``f`` at ``x`` by central finite differences (steps scaled to each
    coordinate, about the cube root of the float epsilon in size for the second derivatives)."""
    k = x.shape[0]
    h = 1e-4 * np.maximum(np.abs(x), 1.0)
    out = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        e_i = np.zeros(k)
        e_i[i] = h[i]
        out[i, i] = (f(x + e_i) - 2 * f0 + f(x - e_i)) / h[i] ** 2
        for j in range(i):
            e_j = np.zeros(k)
            e_j[j] = h[j]
            out[i, j] = out[j, i] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j)
                                     + f(x - e_i - e_j)) / (4 * h[i] * h[j])
    return out


def hessian_from_gradient(gradient: Callable[[F64], F64], x: F64) -> F64:
    """The Hessian as central differences of an exact gradient (2k evaluations instead of
    about 2k²), made symmetric."""
    k = x.shape[0]
    h = 1e-5 * np.maximum(np.abs(x), 1.0)
    out = np.zeros((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = h[i]
        out[:, i] = (gradient(x + step) - gradient(x - step)) / (2 * h[i])
    return (out + out.T) / 2


def standard_errors(neg_ll: Callable[[F64], float], log_params: F64,
                    gradient: Callable[[F64], F64] | None = None) -> F64:
    """Standard errors of the parameters ``exp(log_params)`` at a maximum of the likelihood:
    the observed information is the Hessian of the negative log-likelihood, taken in the
    log-parameters (from the exact ``gradient`` where there is one) and carried to the
    parameters by the delta method (SE(θ_i) = θ_i · sqrt([H⁻¹]_ii)). NaN where the Hessian is
    not positive definite."""
    values = np.exp(log_params)
    try:
        h = (hessian(neg_ll, log_params) if gradient is None
             else hessian_from_gradient(gradient, log_params))
        if not np.isfinite(h).all():
            return np.full(values.shape[0], np.nan)
        np.linalg.cholesky(h)  # positive definite: a maximum with finite curvature
        variances = np.diag(np.linalg.inv(h))
    except np.linalg.LinAlgError:
        return np.full(values.shape[0], np.nan)
    return np.asarray(np.where(variances > 0, values * np.sqrt(np.abs(variances)), np.nan),
                      dtype=np.float64)


def group_rows(*columns: F64) -> tuple[list[F64], F64]:
    """Identical rows collapsed into one with a weight (a million rows become a few thousand)."""
    unique, counts, _ = group_rows_inverse(*columns)
    return unique, counts


def group_rows_inverse(*columns: F64) -> tuple[list[F64], F64, I64]:
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
