"""The simulator's slow, obvious reference: the roll-up of the tree past those who left, the
stochastic rounding of expected counts, and a month's figures, one member at a time in plain
Python. Property tests hold :mod:`.population`, :mod:`.month` and :mod:`.outputs` equal to it
(docs/decisions/reference-engines.md)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from patronage.facts import KIND_DISTRIBUTOR, KIND_PREFERRED


def roll_up(parent: list[int], alive: list[bool]) -> list[int]:
    """Walk up from each member until an ancestor still present (-1: none)."""
    out = []
    for p in parent:
        while p >= 0 and not alive[p]:
            p = parent[p]
        out.append(p)
    return out


def stochastic_round(expected: list[float], u: list[float]) -> list[int]:
    return [math.floor(e) + (1 if x < e - math.floor(e) else 0) for e, x in zip(expected, u,
                                                                               strict=True)]


def leaving(kind: list[int], tenure: list[int], theta: list[float], drop: list[float],
            purchases: list[int], u: list[float], first_year: float, later: float,
            churn_scale: float) -> list[bool]:
    """Who leaves, one member at a time (see :func:`.month.leaving`)."""
    out = []
    for k, t, th, d, n, x in zip(kind, tenure, theta, drop, purchases, u, strict=True):
        if k == KIND_DISTRIBUTOR:
            out.append(x < (first_year if t < 12 else later))
        elif k == KIND_PREFERRED:
            out.append(x < churn_scale * th)
        else:
            out.append(x >= (1.0 - churn_scale * d) ** n)  # stays after each of n purchases
    return out


def _percentile(values: list[int], p: int) -> int:
    ordered = sorted(values)
    exact = Fraction((len(ordered) - 1) * p, 100)
    low = math.floor(exact)
    if exact == low:
        return ordered[low]
    return round(ordered[low] + (exact - low) * (ordered[low + 1] - ordered[low]))


def month_figures(parent: list[int], kind: list[int], lines: list[dict[str, Any]],
                  earned: list[int], ordered: list[bool], expenses: int,
                  threshold: float) -> dict[str, Any]:
    """The figures of a month from its members (parent indexes, kinds), its net order lines
    (dicts with buyer, credited_to, qv, amount, promotional, customer_purchase) and what each
    member earned."""
    n = len(parent)
    dist = [i for i in range(n) if kind[i] == KIND_DISTRIBUTOR]
    customers = n - len(dist)
    costs = dict.fromkeys(dist, expenses)
    own_qv = [0] * n
    cust_qv = [0] * n
    for ln in lines:
        if not ln["customer_purchase"]:
            costs[ln["buyer"]] += ln["amount"]
            own_qv[ln["buyer"]] += ln["qv"]
        elif ln["credited_to"] >= 0:
            own_qv[ln["credited_to"]] += ln["qv"]
            cust_qv[ln["credited_to"]] += ln["qv"]
    team = [0] * n
    team_cust = [0] * n
    for i in range(n):
        a = i
        while a >= 0:
            team[a] += own_qv[i]
            team_cust[a] += cust_qv[i]
            a = parent[a]
    with_volume = [d for d in dist if team[d] > 0]
    below = [d for d in with_volume if team_cust[d] < threshold * team[d]]
    total_qv = sum(ln["qv"] for ln in lines)
    customer_qv = sum(ln["qv"] for ln in lines if ln["customer_purchase"])
    paid = [earned[d] for d in dist]
    net = [earned[d] - costs[d] for d in dist]
    figures: dict[str, Any] = {
        "distributors": len(dist), "customers": customers,
        "autoship_customers": sum(1 for k in kind if k == KIND_PREFERRED),
        "ordering_customers": sum(1 for i in range(n) if ordered[i] and kind[i] != 2),
        "customers_per_distributor": customers / len(dist) if dist else 0.0,
        "customer_volume": customer_qv, "distributor_volume": total_qv - customer_qv,
        "consumption_volume": sum(ln["qv"] for ln in lines if not ln["promotional"]),
        "promotional_volume": sum(ln["qv"] for ln in lines if ln["promotional"]),
        "sales": sum(ln["amount"] for ln in lines),
        "customer_share": customer_qv / total_qv if total_qv else 0.0,
        "teams_below_threshold": len(below),
        "teams_below_share": len(below) / len(with_volume) if with_volume else 0.0,
        "earners": sum(1 for x in paid if x > 0),
    }
    if not dist:
        figures.update(median_earned=0, p75_earned=0, p90_earned=0, p99_earned=0, top_earned=0,
                       median_net=0, share_earning=0.0, share_net_positive=0.0)
        return figures
    figures.update(
        median_earned=_percentile(paid, 50), p75_earned=_percentile(paid, 75),
        p90_earned=_percentile(paid, 90), p99_earned=_percentile(paid, 99),
        top_earned=max(paid), median_net=_percentile(net, 50),
        share_earning=sum(1 for x in paid if x > 0) / len(dist),
        share_net_positive=sum(1 for d in dist if earned[d] > costs[d]) / len(dist))
    return figures
