"""Fast start: a share of a new distributor's orders in their first days, to the enrollers
above them by level. Clawed back by the volume an earlier period's refund returns."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import I64, groups, round_rate, sum_by, take
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_ORDER
from patronage.compensation.core.tree import Pointers
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class FastStart(Strict):
    """% of a new distributor's orders in their first ``window_days``, to the enrollers above."""

    rates: list[int]
    window_days: int = Field(default=60, ge=1)
    volume: Literal["qv", "cv"] = "qv"
    promotional_only: bool = True
    roll_up: bool = False
    #: The calendar it is paid on: each month's run, or each ISO week's ("week").
    period: Literal["month", "week"] = "month"

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> list[int]:
        return [bp(x) for x in v]


class FastStartBonus(BonusType[FastStart]):
    name = "fast_start"
    weekly = True
    model = FastStart
    lines: ClassVar[dict[str, int]] = {"fast_start": 1}
    names: ClassVar[dict[str, str]] = {"fast_start": N_("fast start")}
    clawed_sources = ("order",)

    def check(self, plan: Plan, section: FastStart) -> list[tuple[str, str]]:
        if sum(section.rates) > BP:
            return [("bonuses.fast_start.rates", "rates add up to more than 100%")]
        return []

    def pay(self, st: PayState, section: FastStart) -> None:
        if st.lines.size == 0:
            return
        orders, volume, below = _new_orders(st, section)
        above_active = (st.tree.nearest_above_cached(("active",), lambda: st.active)
                        if section.roll_up else None)
        for level, rate in enumerate(section.rates, start=1):
            first = st.parent[below]
            orders, volume, below, first = take(first >= 0, orders, volume, below, first)
            if orders.shape[0] == 0:
                break
            if above_active is None:
                below = _pay_first(st, level, rate, orders, volume, first)
            else:
                orders, volume, below = _pay_rolled_up(st, level, rate, orders, volume, below,
                                                       first, above_active)

    def reference(self, st: ReferenceState, section: FastStart) -> None:
        window = section.window_days * 86400
        lines, g = st.lines, st.g
        base: dict[tuple[int, int], int] = defaultdict(int)
        for j in range(lines.size):
            buyer = int(lines.buyer[j])
            if lines.customer_purchase[j] or not st.is_dist[buyer]:
                continue
            if section.promotional_only and not lines.promotional[j]:
                continue
            if not 0 <= int(lines.placed_at[j]) - int(g.joined_at[buyer]) < window:
                continue
            qv, cv, _amount = st.net_of(j)
            base[(int(lines.order_id[j]), buyer)] += qv if section.volume == "qv" else cv
        for (order, buyer), volume in sorted(base.items()):
            if volume > 0:
                _reference_order(st, section, order, buyer, volume)

    def clawback_base(self, section: FastStart | None, refunded: Refunded) -> int:
        volume = section.volume if section is not None else "qv"
        return refunded.qv if volume == "qv" else refunded.cv


def _new_orders(st: PayState, fs: FastStart) -> tuple[I64, I64, I64]:
    """Orders of distributors in their window: order ids, their volume, their buyers."""
    lines, g = st.lines, st.g
    # Narrowed step by step: the join date is read only for distributors' own lines.
    ok = ~lines.customer_purchase
    if fs.promotional_only:
        ok &= lines.promotional
    idx = np.flatnonzero(ok)
    buyer = lines.buyer[idx]
    idx, buyer = take(st.is_dist[buyer] & (buyer >= 0), idx, buyer)
    age = lines.placed_at[idx] - g.joined_at[buyer]
    idx, buyer = take((age >= 0) & (age < fs.window_days * 86400), idx, buyer)
    base = (st.qv if fs.volume == "qv" else st.cv)[idx]
    orders, inverse = groups(lines.order_id[idx])
    volume = sum_by(inverse, base, orders.shape[0])
    buyers = np.zeros(orders.shape[0], dtype=np.int64)
    buyers[inverse] = buyer
    orders, volume, below = take(volume > 0, orders, volume, buyers)
    return orders, volume, below


def _pay_first(st: PayState, level: int, rate: int, orders: I64, volume: I64,
               first: I64) -> I64:
    """Without roll-up: the enroller at this level if active, else the payment lapses."""
    paid = st.active[first]
    lost_orders, lost = take(~paid, orders, first)
    st.add_skip("fast_start", SOURCE_ORDER, lost_orders, level, lost, st.reason(lost, 0), -1)
    payee, paid_orders, paid_volume = take(paid, first, orders, volume)
    st.add_pay(payee, "fast_start", SOURCE_ORDER, paid_orders, level, paid_volume, rate,
               round_rate(paid_volume, rate))
    return first


def _pay_rolled_up(st: PayState, level: int, rate: int, orders: I64, volume: I64, below: I64,
                   first: I64, above_active: Pointers) -> tuple[I64, I64, I64]:
    """With roll-up: the nearest active enroller at or above this level."""
    payee = above_active[below]
    moved_orders, moved, moved_to = take(payee != first, orders, first, payee)
    st.add_skip("fast_start", SOURCE_ORDER, moved_orders, level, moved, st.reason(moved, 0),
                moved_to)
    orders, volume, payee = take(payee >= 0, orders, volume, payee)
    st.add_pay(payee, "fast_start", SOURCE_ORDER, orders, level, volume, rate,
               round_rate(volume, rate))
    return orders, volume, payee


def _reference_order(st: ReferenceState, fs: FastStart, order: int, buyer: int,
                     volume: int) -> None:
    """One order's fast start, level by level up from its buyer."""
    below = buyer
    for level, rate in enumerate(fs.rates, start=1):
        first = st.parent[below]
        if first < 0:
            return
        payee = first
        if fs.roll_up:
            while payee >= 0 and not st.active[payee]:
                payee = st.parent[payee]
            if payee != first:
                st.add_skip("fast_start", SOURCE_ORDER, order, level, first, st.reason(first, 0),
                            payee)
            if payee < 0:
                return
        elif not st.active[first]:
            st.add_skip("fast_start", SOURCE_ORDER, order, level, first, st.reason(first, 0), -1)
            below = first
            continue
        st.add_pay(payee, "fast_start", SOURCE_ORDER, order, level, volume, rate,
                   round_half_away(volume * rate, BP))
        below = payee


BONUS = FastStartBonus()
