"""Matching bonus: a percentage of the named bonuses each distributor earned in the period, to
the sponsors above them generation by generation, at the rates of each sponsor's paid-as rank.

The matched amount of an earner is the sum of their lines of the named bonuses as the bonuses
run before this one computed them (before the global cap and the compliance rule, which then
apply to every line, matching ones included). Generations are sponsor-tree levels (generation
1: the earner's own sponsor), not compressed: a sponsor who cannot be paid at their generation
(not in standing, inactive, or paid as a rank with no rate that deep) is passed over and that
generation's match lapses. With ``generations_of = "<rank>"`` a generation ends at each member
paid as that rank or higher instead: the first such member above the earner is paid generation
1, the next one generation 2, and only they are paid. Not clawed back: a refund claws back the
matched line itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import field_validator

from patronage.compensation.core.arrays import I64, round_rate, sum_by, take
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.bonuses.unilevel_generation import rate_problems, rate_table
from patronage.compensation.core.codes import (
    REASON_INACTIVE,
    REASON_NO_RATE,
    REASON_NOT_IN_STANDING,
    SOURCE_MEMBER,
)
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_, _
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class Matching(Strict):
    """``rates[rank][g-1]`` × what the g-th generation below earned in the named ``bonuses``."""

    bonuses: list[str]
    rates: dict[str, list[int]]
    generations_of: str | None = None

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> dict[str, list[int]]:
        if not isinstance(v, dict) or not all(isinstance(x, list) for x in v.values()):
            raise ValueError("give a table of rank name = [generation 1 rate, ...]")
        return {str(k): [bp(x) for x in rates] for k, rates in v.items()}


class MatchingBonus(BonusType[Matching]):
    name = "matching"
    model = Matching
    lines: ClassVar[dict[str, int]] = {"matching": 10}
    names: ClassVar[dict[str, str]] = {"matching": N_("matching bonus")}
    money_volume = True

    def check(self, plan: Plan, section: Matching) -> list[tuple[str, str]]:
        registry = plan.bonuses.registry
        before = [line for t in registry.types[:registry.types.index(self)] for line in t.lines]
        problems = [(f"bonuses.matching.bonuses[{j}]",
                     f"{line!r} is not a payout line of a bonus paid before the matching bonus "
                     f"(those are: {', '.join(before)})")
                    for j, line in enumerate(section.bonuses) if line not in before]
        if not section.bonuses:
            problems.append(("bonuses.matching.bonuses", "name at least one bonus to match"))
        if section.generations_of is not None and section.generations_of not in [
                r.name for r in plan.ranks]:
            problems.append(("bonuses.matching.generations_of",
                             f"unknown rank {section.generations_of!r}"))
        return problems + rate_problems(plan, "bonuses.matching.rates", section.rates)

    def pay(self, st: PayState, section: Matching) -> None:
        earned = _earned(st, section)
        earners = np.flatnonzero((earned > 0) & st.is_dist)
        base = earned[earners]
        rates = rate_table(st.plan, section.rates)
        up = (st.tree.nearest_above(st.paid_as >= st.plan.rank_index(section.generations_of))
              if section.generations_of is not None else None)
        sponsor = earners
        for gen in range(1, rates.shape[1] + 1):
            sponsor = st.parent[sponsor] if up is None else up[sponsor]
            earners, base, sponsor = take(sponsor >= 0, earners, base, sponsor)
            if earners.shape[0] == 0:
                break
            rate = rates[st.paid_as[sponsor], gen - 1]
            why = np.where(~st.standing[sponsor], REASON_NOT_IN_STANDING,
                           np.where(~st.active[sponsor], REASON_INACTIVE,
                                    np.where(rate <= 0, REASON_NO_RATE, 0)))
            lost = why != 0
            st.add_skip("matching", SOURCE_MEMBER, earners[lost], gen, sponsor[lost], why[lost],
                        -1)
            payee, source, volume, paid_rate = take(~lost, sponsor, earners, base, rate)
            st.add_pay(payee, "matching", SOURCE_MEMBER, source, gen, volume, paid_rate,
                       round_rate(volume, paid_rate))

    def reference(self, st: ReferenceState, section: Matching) -> None:
        codes = {st.plan.bonuses.registry.code[line] for line in section.bonuses}
        earned: dict[int, int] = {}
        for earner, code, *_rest, amount in st.pay:
            if code in codes:
                earned[earner] = earned.get(earner, 0) + amount
        for earner in sorted(earned):
            if earned[earner] > 0 and st.is_dist[earner]:
                _reference_earner(st, section, earner, earned[earner])

    def label(self, line: str, level: int) -> str:
        return _("matching bonus on the bonuses earned, generation %(generation)d") % {
            "generation": level}


def _reference_earner(st: ReferenceState, section: Matching, earner: int, base: int) -> None:
    """One earner's match, generation by generation up the sponsor chain."""
    names = [r.name for r in st.plan.ranks]
    top = st.plan.rank_index(section.generations_of) if section.generations_of else -1
    deepest = max(map(len, section.rates.values()), default=0)
    sponsor, gen = st.parent[earner], 0
    while sponsor >= 0 and gen < deepest:
        rank = st.paid_as[sponsor]
        if rank >= top:
            gen += 1
            found = section.rates.get(names[rank], []) if rank >= 0 else []
            rate = found[gen - 1] if gen <= len(found) else 0
            why = _reference_why(st, sponsor, rate)
            if why:
                st.add_skip("matching", SOURCE_MEMBER, earner, gen, sponsor, why, -1)
            else:
                st.add_pay(sponsor, "matching", SOURCE_MEMBER, earner, gen, base, rate,
                           round_half_away(base * rate, BP))
        sponsor = st.parent[sponsor]


def _reference_why(st: ReferenceState, sponsor: int, rate: int) -> int:
    if not st.in_standing[sponsor]:
        return REASON_NOT_IN_STANDING
    if not st.active[sponsor]:
        return REASON_INACTIVE
    return REASON_NO_RATE if rate <= 0 else 0


def _earned(st: PayState, section: Matching) -> I64:
    """What each member earned in the named bonuses so far this period."""
    codes = {st.code[line] for line in section.bonuses}
    earners, amounts = [], []
    for count, (earner, code, *_rest, amount) in st.pay:
        if int(code) in codes:
            earners.append(np.broadcast_to(np.asarray(earner, dtype=np.int64), (count,)))
            amounts.append(np.broadcast_to(np.asarray(amount, dtype=np.int64), (count,)))
    if not earners:
        return np.zeros(st.g.size, dtype=np.int64)
    return sum_by(np.concatenate(earners), np.concatenate(amounts), st.g.size)


BONUS = MatchingBonus()
