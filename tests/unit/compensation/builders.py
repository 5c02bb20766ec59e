"""Small period facts built by hand for the compensation tests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from patronage.compensation.core.plan import parse_plan
from patronage.facts import OrderLines, PeriodFacts, Placement, RefundLines, empty_refunds
from patronage.network.core.genealogy import build

START, END = 1_000_000, 1_000_000 + 30 * 86400


@dataclass
class Line:
    buyer: int
    qv: int
    cv: int
    promotional: bool = False
    amount: int | None = None
    wholesale: int | None = None
    order: int | None = None
    at: int = START + 86400


@dataclass
class Company:
    """Members by index: ``parent`` (-1 root), ``kind`` (0 retail, 1 preferred, 2 distributor)."""

    parent: list[int]
    kind: list[int]
    joined_at: list[int] | None = None
    status: list[int] | None = None
    referrer: list[int] | None = None
    lines: list[Line] = field(default_factory=list)
    refunds: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    #: (placement parent, side 0 left / 1 right) by member; None: nobody placed.
    placement: list[tuple[int, int]] | None = None
    #: Carried over from the previous period, by name, a list by member.
    carry_in: dict[str, list[int]] = field(default_factory=dict)

    def facts(self) -> PeriodFacts:
        return self._placed(self._facts())

    def _placed(self, facts: PeriodFacts) -> PeriodFacts:
        placement = None
        if self.placement is not None:
            placement = Placement(
                parent=np.array([p for p, _ in self.placement], dtype=np.int64),
                side=np.array([s for _, s in self.placement], dtype=np.int8))
        carry = {k: np.array(v, dtype=np.int64) for k, v in self.carry_in.items()}
        return replace(facts, placement=placement, carry_in=carry)

    def _facts(self) -> PeriodFacts:
        n = len(self.parent)
        parent = np.array(self.parent, dtype=np.int64)
        kind = np.array(self.kind, dtype=np.int8)
        is_dist = kind == 2
        g = build(
            np.arange(1, n + 1, dtype=np.int64), parent,
            sponsor=np.where(is_dist, parent, -1), owner=np.where(is_dist, -1, parent),
            referrer=np.array(self.referrer or [-1] * n, dtype=np.int64), kind=kind,
            status=np.array(self.status or [0] * n, dtype=np.int8),
            joined_at=np.array(self.joined_at or [0] * n, dtype=np.int64),
        )
        k = len(self.lines)
        buyer = np.array([ln.buyer for ln in self.lines], dtype=np.int64)
        customer = kind[buyer] != 2 if k else np.zeros(0, dtype=bool)
        credited = np.where(customer, parent[buyer], buyer) if k else buyer
        amount = np.array([ln.amount if ln.amount is not None else ln.cv for ln in self.lines],
                          dtype=np.int64)
        lines = OrderLines(
            line_id=np.arange(1, k + 1, dtype=np.int64),
            order_id=np.array([ln.order if ln.order is not None else j + 1
                               for j, ln in enumerate(self.lines)], dtype=np.int64),
            buyer=buyer, credited_to=credited.astype(np.int64),
            product_id=np.ones(k, dtype=np.int64),
            placed_at=np.array([ln.at for ln in self.lines], dtype=np.int64),
            source=np.zeros(k, dtype=np.int8),
            promotional=np.array([ln.promotional for ln in self.lines], dtype=bool),
            customer_purchase=np.asarray(customer, dtype=bool),
            qv=np.array([ln.qv for ln in self.lines], dtype=np.int64),
            cv=np.array([ln.cv for ln in self.lines], dtype=np.int64), amount=amount,
            retail_total=amount,
            wholesale_total=np.array([ln.wholesale if ln.wholesale is not None else a
                                      for ln, a in zip(self.lines, amount.tolist(),
                                                       strict=True)], dtype=np.int64),
        )
        refunds = empty_refunds()
        if self.refunds:
            # (line index, qv, cv, amount, order placed at)
            r = self.refunds
            li = np.array([x[0] for x in r], dtype=np.int64)
            refunds = RefundLines(
                refund_line_id=np.arange(1, len(r) + 1, dtype=np.int64),
                order_line_id=li + 1, order_id=lines.order_id[li], buyer=buyer[li],
                credited_to=lines.credited_to[li],
                refunded_at=np.full(len(r), START + 5 * 86400, dtype=np.int64),
                order_placed_at=np.array([x[4] for x in r], dtype=np.int64),
                promotional=lines.promotional[li], customer_purchase=lines.customer_purchase[li],
                qv=np.array([x[1] for x in r], dtype=np.int64),
                cv=np.array([x[2] for x in r], dtype=np.int64),
                amount=np.array([x[3] for x in r], dtype=np.int64),
            )
        return PeriodFacts("test", START, END, g, lines, refunds)


def plan(**overrides: Any) -> Any:
    """A plan from a small base, with sections replaced by ``overrides``."""
    data: dict[str, Any] = {
        "plan": {"name": "test", "version": "t1"},
        "active": {"min_pv": 100},
        "ranks": [{"name": "Member", "min_pv": 100, "unilevel_depth": 3}],
        "bonuses": {},
    }
    data.update(overrides)
    return parse_plan(data, "test-plan")
