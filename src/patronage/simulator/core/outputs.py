"""What one simulated month shows: people, volumes, payout and the income distribution.

:func:`month_row` reads the month's arrays (members compacted to those present, as the engine
saw them); :mod:`patronage.simulator.core.reference` computes the same figures plainly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from patronage.arrays import I64, Bools, sum_by
from patronage.compliance.core.disclosure import percentile
from patronage.facts import KIND_DISTRIBUTOR, KIND_PREFERRED, Genealogy
from patronage.network.core.genealogy import subtree_sums


@dataclass(frozen=True)
class MonthRow:
    """One month of a simulation (money in minor units, volumes in hundredths of a point)."""

    month: int
    distributors: int
    customers: int
    autoship_customers: int
    ordering_customers: int
    customers_per_distributor: float
    new_distributors: int
    new_customers: int
    upgrades: int
    left_distributors: int
    left_customers: int
    reached: int
    market_reached: float  # share of the market ever reached (0 without a limit)
    customer_volume: int
    distributor_volume: int
    consumption_volume: int
    promotional_volume: int
    total_cv: int
    sales: int
    payout: int
    payout_share_of_cv: float
    cap_applied: bool
    earners: int
    median_earned: int
    p75_earned: int
    p90_earned: int
    p99_earned: int
    top_earned: int
    median_net: int
    share_earning: float  # distributors paid anything
    share_net_positive: float  # distributors earning more than their costs
    customer_share: float  # of the volume, bought by customers
    teams_below_threshold: int  # teams whose customer share is under the threshold
    teams_below_share: float  # of the teams with volume
    seconds_simulation: float
    seconds_engine: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonthRow:
        types = {f.name: f.type for f in fields(cls)}
        out: dict[str, Any] = {}
        for k, v in data.items():
            if k in types:
                t = types[k]
                out[k] = (v in (True, "True", "true", 1, "1")) if t == "bool" else \
                    (float(v) if t == "float" else int(v))
        return cls(**out)


@dataclass(frozen=True)
class MonthArrays:
    """The month as the engine saw it: the genealogy of members present, their net order
    volumes and amounts, and what each was paid."""

    genealogy: Genealogy
    buyer: I64
    credited_to: I64
    qv: I64  # net of refunds
    cv: I64
    amount: I64
    promotional: Bools
    customer_purchase: Bools
    earned: I64  # by member index
    ordered: Bools  # by member index: bought something this month (net)


def incomes(earned: I64, costs: I64) -> dict[str, Any]:
    """The income distribution of the distributors: percentiles of what they were paid, the
    median net of their costs, the shares paid anything and earning more than their costs."""
    n = int(earned.shape[0])
    if n == 0:
        return {"earners": 0, "median_earned": 0, "p75_earned": 0, "p90_earned": 0,
                "p99_earned": 0, "top_earned": 0, "median_net": 0, "share_earning": 0.0,
                "share_net_positive": 0.0}
    ordered = np.sort(earned)
    net = np.sort(earned - costs)
    return {"earners": int((earned > 0).sum()), "median_earned": percentile(ordered, 50),
            "p75_earned": percentile(ordered, 75), "p90_earned": percentile(ordered, 90),
            "p99_earned": percentile(ordered, 99), "top_earned": int(ordered[-1]),
            "median_net": percentile(net, 50), "share_earning": float((earned > 0).sum()) / n,
            "share_net_positive": float((earned > costs).sum()) / n}


def month_figures(a: MonthArrays, expenses: int, threshold: float) -> dict[str, Any]:
    """Every figure of :class:`MonthRow` that the month's arrays give."""
    g = a.genealogy
    n = g.size
    is_dist = g.kind == KIND_DISTRIBUTOR
    dist = np.flatnonzero(is_dist)
    customers = int(n - dist.shape[0])
    own = ~a.customer_purchase
    costs = sum_by(a.buyer[own], a.amount[own], n)[dist] + expenses
    cust_qv = int(a.qv[a.customer_purchase].sum())
    total_qv = int(a.qv.sum())
    # Teams: each distributor's volume and the part customers bought, summed up the tree.
    credited = np.where(a.customer_purchase, a.credited_to, a.buyer)
    has = credited >= 0
    team_all = subtree_sums(g, sum_by(credited[has], a.qv[has], n))[dist]
    take = has & a.customer_purchase
    team_cust = subtree_sums(g, sum_by(credited[take], a.qv[take], n))[dist]
    with_volume = team_all > 0
    below = with_volume & (team_cust < threshold * team_all)
    teams = int(with_volume.sum())
    return {
        "distributors": int(dist.shape[0]), "customers": customers,
        "autoship_customers": int((g.kind == KIND_PREFERRED).sum()),
        "ordering_customers": int((a.ordered & ~is_dist).sum()),
        "customers_per_distributor": customers / dist.shape[0] if dist.shape[0] else 0.0,
        "customer_volume": cust_qv, "distributor_volume": total_qv - cust_qv,
        "consumption_volume": int(a.qv[~a.promotional].sum()),
        "promotional_volume": int(a.qv[a.promotional].sum()),
        "sales": int(a.amount.sum()),
        "customer_share": cust_qv / total_qv if total_qv else 0.0,
        "teams_below_threshold": int(below.sum()),
        "teams_below_share": float(below.sum()) / teams if teams else 0.0,
        **incomes(a.earned[dist], costs),
    }
