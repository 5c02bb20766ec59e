"""Does appreciation keep customers? The holdout compared with the treated, with intervals.

Customers are in the *holdout* (no automated touches) or *treated*. For a set of customers
(all, one join cohort, or those a rule had an occasion for), :func:`measure` gives:

- **retention lift**: treated retention minus holdout retention (points of share), with
  Newcombe's hybrid score interval (built from the two groups' Wilson intervals: it keeps its
  coverage for small groups and shares near 0 or 1, where the plain normal one does not) and
  the two-sided p-value of the two-proportion z test;
- **spend difference**: mean spend of the treated minus that of the holdout (minor units),
  with Welch's t interval (unequal variances).

``confidence`` is 0.95 unless said. :func:`by_cohort` does the same per cohort with arrays (one
pass with ``bincount``); :func:`by_cohort_reference` says it customer by customer, and a
property test holds the two equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from patronage.arrays import I64, Bools

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {"estimate": round(self.estimate, digits), "low": round(self.low, digits),
                "high": round(self.high, digits)}


@dataclass(frozen=True)
class Measured:
    """One comparison: counts and sums of each group, and the two intervals."""

    treated: int
    treated_retained: int
    treated_spend: float
    holdout: int
    holdout_retained: int
    holdout_spend: float
    lift: Interval
    p_value: float
    spend: Interval

    @property
    def significant(self) -> bool:
        return self.lift.low > 0 or self.lift.high < 0

    def as_dict(self) -> dict[str, object]:
        return {"treated": self.treated, "treated_retained": self.treated_retained,
                "holdout": self.holdout, "holdout_retained": self.holdout_retained,
                "lift": self.lift.as_dict(), "p_value": round(self.p_value, 6),
                "spend_difference": self.spend.as_dict(1),
                "treated_mean_spend": round(self.treated_spend, 1),
                "holdout_mean_spend": round(self.holdout_spend, 1)}


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def retention_lift(treated: int, treated_retained: int, holdout: int, holdout_retained: int,
                   confidence: float = CONFIDENCE) -> tuple[Interval, float]:
    """Treated minus holdout retention with Newcombe's interval, and the z test's p-value."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p1 = treated_retained / treated if treated else 0.0
    p2 = holdout_retained / holdout if holdout else 0.0
    l1, u1 = _wilson(treated_retained, treated, z)
    l2, u2 = _wilson(holdout_retained, holdout, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    p_value = 1.0
    if treated and holdout:
        pooled = (treated_retained + holdout_retained) / (treated + holdout)
        se = math.sqrt(pooled * (1 - pooled) * (1 / treated + 1 / holdout))
        if se:
            p_value = float(2 * stats.norm.sf(abs(d) / se))
    return Interval(d, low, high), p_value


def spend_difference(n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float,
                     confidence: float = CONFIDENCE) -> Interval:
    """Welch's interval of ``mean1 - mean2`` from each group's size, mean and variance
    (sample variance, ``ddof=1``)."""
    d = mean1 - mean2
    if n1 < 2 or n2 < 2:
        return Interval(d, -math.inf, math.inf)
    a, b = var1 / n1, var2 / n2
    se = math.sqrt(a + b)
    if se == 0:
        return Interval(d, d, d)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return Interval(d, d - half, d + half)


def measure(held: Bools, retained: Bools, spend: I64,
            confidence: float = CONFIDENCE) -> Measured:
    """The comparison for these customers (one row each)."""
    return by_cohort(np.zeros(held.shape[0], dtype=np.int64), held, retained, spend, 1,
                     confidence)[0]


def by_cohort(cohort: I64, held: Bools, retained: Bools, spend: I64, cohorts: int,
              confidence: float = CONFIDENCE) -> list[Measured]:
    """:func:`measure` for each cohort ``0..cohorts-1`` (``cohort`` by customer)."""
    out = []
    x = spend.astype(np.float64)
    count = [np.bincount(cohort[g], minlength=cohorts) for g in (~held, held)]
    kept = [np.bincount(cohort[g & retained], minlength=cohorts) for g in (~held, held)]
    total = [np.bincount(cohort[g], weights=x[g], minlength=cohorts) for g in (~held, held)]
    squares = [np.bincount(cohort[g], weights=x[g] * x[g], minlength=cohorts)
               for g in (~held, held)]
    for c in range(cohorts):
        n = [int(count[i][c]) for i in (0, 1)]
        mean = [float(total[i][c]) / n[i] if n[i] else 0.0 for i in (0, 1)]
        var = [max((float(squares[i][c]) - n[i] * mean[i] ** 2) / (n[i] - 1), 0.0)
               if n[i] > 1 else 0.0 for i in (0, 1)]
        lift, p = retention_lift(n[0], int(kept[0][c]), n[1], int(kept[1][c]), confidence)
        out.append(Measured(n[0], int(kept[0][c]), mean[0], n[1], int(kept[1][c]), mean[1],
                            lift, p, spend_difference(n[0], mean[0], var[0], n[1], mean[1],
                                                      var[1], confidence)))
    return out


def by_cohort_reference(cohort: list[int], held: list[bool], retained: list[bool],
                        spend: list[int], cohorts: int,
                        confidence: float = CONFIDENCE) -> list[Measured]:
    """:func:`by_cohort` customer by customer, with scipy's own Welch test for the spend."""
    out = []
    for c in range(cohorts):
        groups: list[list[tuple[bool, int]]] = [[], []]
        for co, h, r, s in zip(cohort, held, retained, spend, strict=True):
            if co == c:
                groups[1 if h else 0].append((r, s))
        n = [len(g) for g in groups]
        k = [sum(1 for r, _ in g if r) for g in groups]
        mean = [sum(s for _, s in g) / len(g) if g else 0.0 for g in groups]
        lift, p = retention_lift(n[0], k[0], n[1], k[1], confidence)
        if n[0] >= 2 and n[1] >= 2 and (np.var([s for _, s in groups[0]]) or
                                          np.var([s for _, s in groups[1]])):
            res = stats.ttest_ind([s for _, s in groups[0]], [s for _, s in groups[1]],
                                  equal_var=False)
            ci = res.confidence_interval(confidence)
            spend_ci = Interval(mean[0] - mean[1], float(ci.low), float(ci.high))
        else:
            var = [float(np.var([s for _, s in g], ddof=1)) if len(g) > 1 else 0.0
                   for g in groups]
            spend_ci = spend_difference(n[0], mean[0], var[0], n[1], mean[1], var[1],
                                        confidence)
        out.append(Measured(n[0], k[0], mean[0], n[1], k[1], mean[1], lift, p, spend_ci))
    return out
