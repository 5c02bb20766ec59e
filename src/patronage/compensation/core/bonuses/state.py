"""What a bonus type reads and writes while a period runs: one state for the vectorised
engine (arrays over every member) and one for the reference engine (plain Python).

Both engines qualify the members first (PV, activity, ranks), then hand each bonus type of
the plan its state in turn; a bonus type appends payout and skip lines to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from patronage.compensation.core.arrays import I64, Bools, sum_where
from patronage.compensation.core.codes import (
    REASON_INACTIVE,
    REASON_NOT_IN_STANDING,
    REASON_RANK_DEPTH,
)
from patronage.compensation.core.tree import Tree
from patronage.facts import Genealogy, OrderLines, PeriodFacts

if TYPE_CHECKING:
    from patronage.compensation.core.history import RankHistory
    from patronage.compensation.core.plan import Plan

#: Columns of a payout line, in the order :meth:`PayState.add_pay` takes them.
PAY_KEYS = ("earner", "bonus", "source_kind", "source", "level", "volume", "rate_bp", "amount")

Part = tuple[int, tuple[int | I64, ...]]


class PayState:
    """The qualified facts of a run as arrays by member index, and the payout and skip
    columns as the bonus types produce them.

    ``qv``, ``cv`` and ``amount`` are the order lines' columns net of same-period refunds;
    ``customer_spend`` is what each customer paid in the period, ``paid_as`` and ``title``
    the rank indexes (-1: none), ``depth_paid`` the unilevel depth of the paid-as rank."""

    def __init__(self, plan: Plan, facts: PeriodFacts, *, is_dist: Bools, standing: Bools,
                 active: Bools, depth_paid: I64, tree: Tree, qv: I64, cv: I64, amount: I64,
                 customer_spend: I64, paid_as: I64, title: I64) -> None:
        self.plan, self.facts = plan, facts
        self.g: Genealogy = facts.genealogy
        self.lines: OrderLines = facts.lines
        self.is_dist, self.standing, self.active = is_dist, standing, active
        self.depth_paid, self.tree = depth_paid, tree
        self.qv, self.cv, self.amount = qv, cv, amount
        self.customer_spend, self.paid_as, self.title = customer_spend, paid_as, title
        self.parent = self.g.parent
        self.code = plan.bonuses.registry.code
        self.pay: list[Part] = []
        self.skips: list[Part] = []
        #: What bonus types carry to the next period, by name (arrays by member index).
        self.carry: dict[str, I64] = {}
        self._personal: dict[bool, I64] = {}
        #: Ranks of the committed periods before this one, and the title before this period
        #: (None: no earlier title); the engine sets them before the bonuses pay.
        self.history: RankHistory | None = None
        self.prior_title: I64 | None = None
        #: Personal and group volume by member (set by the engine with the history).
        self.pv: I64 = np.zeros(0, dtype=np.int64)
        self.gv: I64 = self.pv

    def add_pay(self, earner: I64, line: str, kind: int, source: I64, level: int | I64,
                volume: int | I64, rate: int | I64, amount: int | I64) -> None:
        """Payout lines of the payout line name ``line``, one per ``earner``."""
        self.pay.append((int(earner.shape[0]), (earner, self.code[line], kind, source,
                                                level, volume, rate, amount)))

    def add_skip(self, line: str, kind: int, source: I64, level: int, member: I64,
                 why: int | I64, passed_to: int | I64) -> None:
        """Payments not made to ``member`` (``passed_to`` -1: to nobody), one per ``source``."""
        self.skips.append((int(source.shape[0]), (self.code[line], kind, source, level,
                                                  member, why, passed_to)))

    def reason(self, m: I64, level: int) -> I64:
        """Why each of ``m`` cannot be paid at unilevel ``level`` (0: it can)."""
        return np.where(~self.standing[m], REASON_NOT_IN_STANDING,
                        np.where(~self.active[m], REASON_INACTIVE,
                                 np.where(self.depth_paid[m] < level, REASON_RANK_DEPTH, 0)))

    def paid_to(self, level: int) -> Bools:
        """Distributors paid at unilevel ``level``: active, their paid-as rank that deep."""
        return self.active & (self.depth_paid >= level)

    def personal_cv(self, include_promotional: bool) -> I64:
        """Net CV credited to each distributor (packs only when the bonus includes them); each
        variant is summed once per run."""
        found = self._personal.get(include_promotional)
        if found is not None:
            return found
        lines = self.lines
        ok = self.is_dist[lines.credited_to]  # -1 reads the last member: checked next
        ok &= lines.credited_to >= 0
        if not include_promotional:
            ok &= ~lines.promotional
        found = self._personal[include_promotional] = sum_where(ok, lines.credited_to, self.cv,
                                                                 self.g.size)
        return found


@dataclass
class ReferenceState:
    """The qualified facts of a run as plain lists by member index, and the payout and skip
    lines as the bonus types produce them. ``net`` maps an order line id to its (QV, CV,
    amount) net of same-period refunds; the other fields are as in :class:`PayState`."""

    plan: Plan
    facts: PeriodFacts
    net: dict[int, list[int]]
    is_dist: list[bool]
    in_standing: list[bool]
    active: list[bool]
    parent: list[int]
    paid_as: list[int]
    title: list[int]
    depth_paid: list[int]
    customer_spend: dict[int, int]
    pay: list[tuple[int, int, int, int, int, int, int, int]] = field(default_factory=list)
    skips: list[tuple[int, int, int, int, int, int, int]] = field(default_factory=list)
    history: RankHistory | None = None
    prior_title: dict[int, int] = field(default_factory=dict)
    pv: list[int] = field(default_factory=list)
    gv: list[int] = field(default_factory=list)
    carry: dict[str, I64] = field(default_factory=dict)

    @property
    def g(self) -> Genealogy:
        return self.facts.genealogy

    @property
    def lines(self) -> OrderLines:
        return self.facts.lines

    def net_of(self, j: int) -> list[int]:
        """(QV, CV, amount) of order line ``j`` (its position), net of same-period refunds."""
        return self.net[int(self.lines.line_id[j])]

    def add_pay(self, earner: int, line: str, kind: int, source: int, level: int, volume: int,
                rate: int, amount: int) -> None:
        code = self.plan.bonuses.registry.code[line]
        self.pay.append((earner, code, kind, source, level, volume, rate, amount))

    def add_skip(self, line: str, kind: int, source: int, level: int, member: int, why: int,
                 passed_to: int) -> None:
        code = self.plan.bonuses.registry.code[line]
        self.skips.append((code, kind, source, level, member, why, passed_to))

    def reason(self, member: int, level: int) -> int:
        """Why ``member`` cannot be paid at unilevel ``level`` (0: they can)."""
        if not self.in_standing[member]:
            return REASON_NOT_IN_STANDING
        if not self.active[member]:
            return REASON_INACTIVE
        return REASON_RANK_DEPTH if self.depth_paid[member] < level else 0

    def personal_cv(self, include_promotional: bool) -> dict[int, int]:
        """Net CV credited to each distributor (packs only when the bonus includes them)."""
        lines = self.lines
        out: dict[int, int] = defaultdict(int)
        for j in range(lines.size):
            if lines.promotional[j] and not include_promotional:
                continue
            credited = int(lines.credited_to[j])
            if credited >= 0 and self.is_dist[credited]:
                out[credited] += self.net_of(j)[1]
        return out
