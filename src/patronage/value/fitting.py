"""Maximum likelihood on log-parameters, with convergence reported as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def fit_log_params(neg_ll: Callable[[F64], float], names: list[str], start: F64,
                   n: float) -> Fit:
    """Minimise ``neg_ll`` over log-parameters (so every parameter stays positive)."""
    result = minimize(neg_ll, start, method="L-BFGS-B",
                      options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-13})
    if not result.success:
        # A second opinion from a derivative-free method before giving up honestly.
        retry = minimize(neg_ll, result.x, method="Nelder-Mead",
                         options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-12})
        if retry.fun <= result.fun:
            result = retry
    values = np.exp(result.x)
    return Fit(
        params={k: float(v) for k, v in zip(names, values, strict=True)},
        log_likelihood=float(-result.fun), converged=bool(result.success),
        iterations=int(result.get("nit", 0)), message=str(result.message), n=n,
    )


def group_rows(*columns: F64) -> tuple[list[F64], F64]:
    """Identical rows collapsed into one with a weight (a million rows become a few thousand)."""
    stacked = np.stack(columns, axis=1)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(np.float64)
