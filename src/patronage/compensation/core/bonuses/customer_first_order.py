"""Customer first-order bonus: a percentage of a new customer's first order(s) to the owner.

An order's time is its earliest line's; a customer's orders of the period are taken in time
order (then order id). An order is a first order when it is within ``window_days`` of the
customer joining (if given) and, if ``orders`` is given, among the customer's first ``orders``
orders, counted for customers who joined in the period (earlier customers' first orders were
in earlier periods: the engine sees one period, so ``orders`` pays nothing for them). The base
is the order's amount, net of same-period refunds; an owner who must be active
and is not is passed over and the payment lapses. Clawed back by the part of the base an
earlier period's refund of the order returns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import groups, round_rate, sum_by, take
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_ORDER
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_
from patronage.money import round_half_away

_DAY = 86400


class CustomerFirstOrder(Strict):
    """``rate`` × each first order of a new customer, to the customer's owner."""

    rate: int
    orders: int | None = Field(default=None, ge=1)
    window_days: int | None = Field(default=None, ge=1)
    requires_active: bool = True

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)


class CustomerFirstOrderBonus(BonusType[CustomerFirstOrder]):
    name = "customer_first_order"
    model = CustomerFirstOrder
    lines: ClassVar[dict[str, int]] = {"customer_first_order": 11}
    names: ClassVar[dict[str, str]] = {"customer_first_order": N_("customer first order")}
    clawed_sources = ("order",)
    money_volume = True

    def check(self, plan: Any, section: CustomerFirstOrder) -> list[tuple[str, str]]:
        if section.orders is None and section.window_days is None:
            return [("bonuses.customer_first_order",
                     "say which orders are first orders: orders = N, window_days = N or both")]
        return []

    def pay(self, st: PayState, section: CustomerFirstOrder) -> None:
        lines, g, facts = st.lines, st.g, st.facts
        idx = np.flatnonzero(lines.customer_purchase)
        buyer = lines.buyer[idx]
        owner = np.where(buyer >= 0, st.parent[np.maximum(buyer, 0)], -1)
        idx, buyer = take(~st.is_dist[buyer] & (buyer >= 0) & (owner >= 0), idx, buyer)
        # Only new customers can have first orders here (every order is placed in the period).
        joined = g.joined_at[buyer]
        new = np.ones(idx.shape[0], dtype=bool)
        if section.orders is not None:
            new &= (joined >= facts.start) & (joined < facts.end)
        if section.window_days is not None:
            new &= joined > facts.start - section.window_days * _DAY
        idx, buyer = take(new, idx, buyer)
        orders, inverse = groups(lines.order_id[idx])
        k = orders.shape[0]
        volume = sum_by(inverse, st.amount[idx], k)
        at = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(at, inverse, lines.placed_at[idx])
        who = np.zeros(k, dtype=np.int64)
        who[inverse] = buyer
        joined = g.joined_at[who]
        first = np.ones(k, dtype=bool)
        if section.window_days is not None:
            first &= (at >= joined) & (at - joined < section.window_days * _DAY)
        if section.orders is not None:
            order = np.lexsort((orders, at, who))
            starts = np.flatnonzero(np.r_[True, who[order][1:] != who[order][:-1]])
            nth = np.arange(k) - np.repeat(starts, np.diff(np.r_[starts, k]))
            place = np.empty(k, dtype=np.int64)
            place[order] = nth
            first &= (place < section.orders) & (joined >= facts.start) & (joined < facts.end)
        orders, volume, who = take(first & (volume > 0), orders, volume, who)
        owner = st.parent[who]
        lost = (~st.active[owner] if section.requires_active
                else np.zeros(orders.shape[0], dtype=bool))
        st.add_skip("customer_first_order", SOURCE_ORDER, orders[lost], 0, owner[lost],
                    st.reason(owner[lost], 0), -1)
        payee, paid_orders, paid_volume = take(~lost, owner, orders, volume)
        st.add_pay(payee, "customer_first_order", SOURCE_ORDER, paid_orders, 0, paid_volume,
                   section.rate, round_rate(paid_volume, section.rate))

    def reference(self, st: ReferenceState, section: CustomerFirstOrder) -> None:
        lines, g, facts = st.lines, st.g, st.facts
        at: dict[int, int] = {}
        buyer_of: dict[int, int] = {}
        volume: dict[int, int] = defaultdict(int)
        for j in range(lines.size):
            buyer = int(lines.buyer[j])
            if not lines.customer_purchase[j] or buyer < 0 or st.is_dist[buyer]:
                continue
            if st.parent[buyer] < 0:
                continue
            order = int(lines.order_id[j])
            at[order] = min(at.get(order, int(lines.placed_at[j])), int(lines.placed_at[j]))
            buyer_of[order] = buyer
            volume[order] += st.net_of(j)[2]
        by_customer: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for order, buyer in buyer_of.items():
            by_customer[buyer].append((at[order], order))
        for buyer, placed in sorted(by_customer.items()):
            joined = int(g.joined_at[buyer])
            for n, (when, order) in enumerate(sorted(placed)):
                if section.window_days is not None and not (
                        0 <= when - joined < section.window_days * _DAY):
                    continue
                if section.orders is not None and (
                        n >= section.orders or not facts.start <= joined < facts.end):
                    continue
                if volume[order] > 0:
                    _reference_pay(st, section, buyer, order, volume[order])

    def clawback_base(self, section: CustomerFirstOrder | None, refunded: Refunded) -> int:
        return refunded.amount


def _reference_pay(st: ReferenceState, section: CustomerFirstOrder, buyer: int, order: int,
                   volume: int) -> None:
    owner = st.parent[buyer]
    if section.requires_active and not st.active[owner]:
        st.add_skip("customer_first_order", SOURCE_ORDER, order, 0, owner, st.reason(owner, 0),
                    -1)
        return
    st.add_pay(owner, "customer_first_order", SOURCE_ORDER, order, 0, volume, section.rate,
               round_half_away(volume * section.rate, BP))


BONUS = CustomerFirstOrderBonus()
