"""Rank advancement: a fixed amount paid once when a member first reaches a rank, optionally in
instalments over the following committed periods while the rank is held.

A member reaches rank *r* in the period their title first rises to *r* or above (a title is the
highest paid-as rank ever held, so this is also the first period they are paid as *r*). Skipping
ranks pays the bonus of every rank skipped. With ``instalments = n`` the amount is paid in *n*
parts, the first in the period the rank is reached and one in each of the next n − 1 committed
periods; each part is ``amount // n`` and the first also takes the remainder cents. With
``held_as = "paid_as"`` (the default) a part is paid only while the member has been paid as *r*
or higher in every period since reaching it: the first period they are not, the remaining parts
are forfeited. With ``held_as = "title"`` the title is enough (it is never lost): a part falling
in a period the member is inactive lapses alone.

Lines: source the member themselves, level the rank's number (index + 1), volume the
instalment's number (1 … n), no rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import I64, take
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import REASON_RANK_NOT_HELD, SOURCE_MEMBER
from patronage.compensation.core.units import Strict, hundredths
from patronage.languages import N_, _
from patronage.money import format_amount

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan

LINE = "rank_advancement"


class RankAdvancement(Strict):
    """``amounts``: rank name = amount paid when first reached (ranks not named pay nothing)."""

    amounts: dict[str, int]
    instalments: int = Field(default=1, ge=1, le=24)
    held_as: Literal["paid_as", "title"] = "paid_as"

    @field_validator("amounts", mode="before")
    @classmethod
    def _amounts(cls, v: Any) -> dict[str, int]:
        if not isinstance(v, dict) or not v:
            raise ValueError("give a table of rank name = amount")
        return {str(k): hundredths(x) for k, x in v.items()}

    def instalment(self, amount: int, k: int) -> int:
        """Instalment ``k`` (1 … n) of ``amount``: equal parts, the remainder in the first."""
        part = amount // self.instalments
        return part + (amount - part * self.instalments if k == 1 else 0)


class RankAdvancementBonus(BonusType[RankAdvancement]):
    name = "rank_advancement"
    model = RankAdvancement
    lines: ClassVar[dict[str, int]] = {LINE: 7}
    names: ClassVar[dict[str, str]] = {LINE: N_("rank advancement")}

    def check(self, plan: Plan, section: RankAdvancement) -> list[tuple[str, str]]:
        names = [r.name for r in plan.ranks]
        return [(f"bonuses.rank_advancement.amounts.{rank}", "unknown rank")
                for rank in section.amounts if rank not in names]

    def money_amounts(self, section: RankAdvancement) -> dict[str, int]:
        return {f"amounts.{rank}": amount for rank, amount in section.amounts.items()}

    def convert_money(self, section: RankAdvancement,
                      convert: Callable[[int], int]) -> RankAdvancement:
        return section.model_copy(update={"amounts": {rank: convert(amount) for rank, amount
                                                      in section.amounts.items()}})

    def history_periods(self, section: RankAdvancement) -> int:
        # Part k is due when the title k - 1 periods ago reached the rank and the title k
        # periods ago had not: the titles of n periods back (the last from the history's row
        # n - 1; one period back is the prior title).
        return section.instalments if section.instalments > 1 else 0

    def describe(self, plan: Plan, level: int, volume: int) -> str | None:
        section = self.section_of(plan)
        if section is None or not 1 <= level <= len(plan.ranks):
            return None
        rank = plan.ranks[level - 1].name
        total = section.amounts.get(rank, 0)
        if section.instalments == 1:
            return _("rank advancement: %(rank)s reached for the first time, paid once") % {
                "rank": rank}
        return _("rank advancement: %(rank)s reached for the first time, instalment "
                 "%(k)d of %(n)d of %(total)s (equal parts, the cents left over in the "
                 "first)") % {"rank": rank, "k": volume, "n": section.instalments,
                              "total": format_amount(total)}

    def label(self, line: str, level: int) -> str:
        return _("rank advancement to rank %(rank)d") % {"rank": level} if level \
            else super().label(line, level)

    def pay(self, st: PayState, section: RankAdvancement) -> None:
        n = st.g.size
        history = st.history
        prior = st.prior_title if st.prior_title is not None else np.full(n, -1, np.int64)

        def title(j: int) -> I64:  # the title j committed periods ago (0: this period)
            if j == 0:
                return st.title
            if j == 1:
                return prior
            return history.row("title", j - 1, n) if history is not None \
                else np.full(n, -1, np.int64)

        def paid_as(j: int) -> I64:
            if j == 0:
                return st.paid_as
            return history.row("paid_as", j - 1, n) if history is not None \
                else np.full(n, -1, np.int64)

        ranks = [(st.plan.rank_index(name), amount) for name, amount in section.amounts.items()]
        for r, amount in sorted(ranks):
            held_before = st.is_dist.copy()  # paid as r in every earlier period since reaching
            for k in range(1, section.instalments + 1):
                due = st.is_dist & (title(k - 1) >= r) & (title(k) < r)
                if section.held_as == "paid_as":
                    paid = due & held_before & (st.paid_as >= r)
                    lost = due & held_before & (st.paid_as < r)
                    held_before &= paid_as(k) >= r
                else:
                    paid, lost = due & st.active, due & ~st.active
                self._lines(st, r, k, section.instalment(amount, k), paid, lost)

    @staticmethod
    def _lines(st: PayState, r: int, k: int, amount: int, paid: np.ndarray[Any, Any],
               lost: np.ndarray[Any, Any]) -> None:
        (who,) = take(paid, np.arange(st.g.size, dtype=np.int64))
        st.add_pay(who, LINE, SOURCE_MEMBER, who, r + 1, k, 0, amount)
        (gone,) = take(lost, np.arange(st.g.size, dtype=np.int64))
        why = np.where(st.reason(gone, 0) > 0, st.reason(gone, 0), REASON_RANK_NOT_HELD)
        st.add_skip(LINE, SOURCE_MEMBER, gone, r + 1, gone, why, -1)

    def reference(self, st: ReferenceState, section: RankAdvancement) -> None:
        for i in range(st.g.size):
            if not st.is_dist[i]:
                continue
            titles = [st.title[i], st.prior_title.get(i, -1)]
            paid_as = [st.paid_as[i]]
            if st.history is not None:
                titles += [int(row[i]) for row in st.history.title[1:]]
                paid_as += [int(row[i]) for row in st.history.paid_as]
            titles += [-1] * (section.instalments + 1)
            paid_as += [-1] * (section.instalments + 1)
            for name, amount in sorted(section.amounts.items(),
                                       key=lambda x: st.plan.rank_index(x[0])):
                _reference_rank(st, section, i, st.plan.rank_index(name), amount, titles,
                                paid_as)


def _reference_rank(st: ReferenceState, section: RankAdvancement, i: int, r: int, amount: int,
                    titles: list[int], paid_as: list[int]) -> None:
    """Member ``i``'s instalment of rank ``r`` due this period, if any (``titles`` and
    ``paid_as`` by periods ago, 0 this one)."""
    for k in range(1, section.instalments + 1):
        if not titles[k - 1] >= r > titles[k]:
            continue  # reached k - 1 periods ago: instalment k is due now
        if section.held_as == "paid_as":
            if not all(paid_as[d] >= r for d in range(1, k)):
                return  # lost in an earlier period: forfeited then
            keep = paid_as[0] >= r
        else:
            keep = st.active[i]
        if keep:
            st.add_pay(i, LINE, SOURCE_MEMBER, i, r + 1, k, 0, section.instalment(amount, k))
        else:
            st.add_skip(LINE, SOURCE_MEMBER, i, r + 1, i,
                        st.reason(i, 0) or REASON_RANK_NOT_HELD, -1)
        return


BONUS = RankAdvancementBonus()
