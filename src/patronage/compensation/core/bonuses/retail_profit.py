"""Retail profit: what a retail customer paid above the wholesale price, to the owner, one
line per order. Clawed back in proportion to the amount an earlier period's refund returns."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from patronage.compensation.core.arrays import groups, sum_by, take
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_ORDER
from patronage.compensation.core.units import Strict
from patronage.languages import N_
from patronage.money import round_half_away


class RetailProfit(Strict):
    """Retail price paid by a retail customer above the wholesale price, to the owner."""

    enabled: bool = True


class RetailProfitBonus(BonusType[RetailProfit]):
    name = "retail_profit"
    model = RetailProfit
    lines: ClassVar[dict[str, int]] = {"retail_profit": 0}
    names: ClassVar[dict[str, str]] = {"retail_profit": N_("retail profit")}
    clawed_sources = ("order",)

    def pay(self, st: PayState, section: RetailProfit) -> None:
        lines = st.lines
        if not section.enabled or lines.size == 0:
            return
        # Narrowed step by step: each test reads only the lines still in.
        idx = np.flatnonzero(lines.customer_purchase & (lines.credited_to >= 0))
        credited, gross = lines.credited_to[idx], lines.amount[idx]
        margin = gross - lines.wholesale_total[idx]
        keep = (gross > 0) & (margin > 0) & (st.g.kind[lines.buyer[idx]] == 0)
        keep &= st.is_dist[credited]
        idx, credited, gross, margin = take(keep, idx, credited, gross, margin)
        if idx.shape[0] == 0:
            return
        paid = st.amount[idx]
        profit = (2 * margin * paid + gross) // (2 * gross)
        # An order has one buyer and so one owner: group by order id alone.
        orders, inverse = groups(lines.order_id[idx])
        earner = np.zeros(orders.shape[0], dtype=np.int64)
        earner[inverse] = credited
        total_profit = sum_by(inverse, profit, orders.shape[0])
        total_volume = sum_by(inverse, paid, orders.shape[0])
        earner, orders, total_volume, total_profit = take(
            total_profit != 0, earner, orders, total_volume, total_profit)
        st.add_pay(earner, "retail_profit", SOURCE_ORDER, orders, 0, total_volume, 0,
                   total_profit)

    def reference(self, st: ReferenceState, section: RetailProfit) -> None:
        if not section.enabled:
            return
        lines, g = st.lines, st.g
        per_order: dict[tuple[int, int], list[int]] = {}
        for j in range(lines.size):
            credited = int(lines.credited_to[j])
            if not lines.customer_purchase[j] or credited < 0:
                continue
            if int(g.kind[int(lines.buyer[j])]) != 0 or not st.is_dist[credited]:
                continue
            amount = st.net_of(j)[2]
            gross = int(lines.amount[j])
            margin = gross - int(lines.wholesale_total[j])
            if gross <= 0 or margin <= 0:
                continue
            entry = per_order.setdefault((credited, int(lines.order_id[j])), [0, 0])
            entry[0] += amount
            entry[1] += round_half_away(margin * amount, gross)
        for (earner, order), (volume, profit) in per_order.items():
            if profit:
                st.add_pay(earner, "retail_profit", SOURCE_ORDER, order, 0, volume, 0, profit)

    def clawback_base(self, section: RetailProfit | None, refunded: Refunded) -> int:
        return refunded.amount


BONUS = RetailProfitBonus()
