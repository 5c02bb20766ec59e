"""Generation bonus for unilevel plans: generations of a named rank, paid on each active
member's unilevel volume (consumption CV) by the rates of the earner's paid-as rank.

A generation ends at each member of ``rank`` or higher: the first such member above a source
is paid its generation 1, the next one above that its generation 2, and so on (members below
the rank do not count: generations are compressed). With ``compression = false`` generations
end at members who hold ``rank`` as their title; one not paid as ``rank`` or higher this period
is passed over and that generation's payment lapses. A member whose paid-as rank has no rate
at their generation is passed over the same way. Clawed back as unilevel is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import field_validator

from patronage.compensation.core.arrays import I64, round_rate, take
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import REASON_NO_RATE, REASON_NOT_BROKEN_AWAY, SOURCE_MEMBER
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_, _
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class UnilevelGeneration(Strict):
    """``rates[rank][g-1]`` × the CV of each active member in the earner's g-th generation."""

    rank: str
    rates: dict[str, list[int]]
    compression: bool = True
    include_promotional: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> dict[str, list[int]]:
        if not isinstance(v, dict) or not all(isinstance(x, list) for x in v.values()):
            raise ValueError("give a table of rank name = [generation 1 rate, ...]")
        return {str(k): [bp(x) for x in rates] for k, rates in v.items()}


def rate_table(plan: Plan, rates: dict[str, list[int]]) -> I64:
    """Rates by (paid-as rank index, generation - 1); the last row: no rank."""
    deepest = max(map(len, rates.values()), default=0)
    out = np.zeros((len(plan.ranks) + 1, deepest), dtype=np.int64)
    for r, rank in enumerate(plan.ranks):
        found = rates.get(rank.name, [])
        out[r, :len(found)] = found
    return out


def rate_problems(plan: Plan, key: str, rates: dict[str, list[int]]) -> list[tuple[str, str]]:
    """Unknown ranks and generations adding up to more than 100% in a rank's rates."""
    names = [r.name for r in plan.ranks]
    problems = [(f"{key}.{rank}", "unknown rank") for rank in rates if rank not in names]
    problems += [(f"{key}.{rank}", "rates add up to more than 100%")
                 for rank, found in rates.items() if sum(found) > BP]
    return problems


class UnilevelGenerationBonus(BonusType[UnilevelGeneration]):
    name = "unilevel_generation"
    model = UnilevelGeneration
    lines: ClassVar[dict[str, int]] = {"unilevel_generation": 9}
    names: ClassVar[dict[str, str]] = {"unilevel_generation": N_("generation bonus")}
    clawed_sources = ("member",)

    def check(self, plan: Plan, section: UnilevelGeneration) -> list[tuple[str, str]]:
        problems = rate_problems(plan, "bonuses.unilevel_generation.rates", section.rates)
        if section.rank not in [r.name for r in plan.ranks]:
            problems.append(("bonuses.unilevel_generation.rank",
                             f"unknown rank {section.rank!r}"))
        if not section.rates:
            problems.append(("bonuses.unilevel_generation.rates",
                             "give the generation rates of at least one rank"))
        return problems

    def pay(self, st: PayState, section: UnilevelGeneration) -> None:
        top = st.plan.rank_index(section.rank)
        rates = rate_table(st.plan, section.rates)
        volume_of = st.personal_cv(section.include_promotional)
        sources = np.flatnonzero((volume_of > 0) & st.active)
        volume = volume_of[sources]
        ends = st.paid_as >= top if section.compression else st.title >= top
        up = st.tree.nearest_above(ends)
        walker = up[sources]
        for gen in range(1, rates.shape[1] + 1):
            sources, volume, walker = take(walker >= 0, sources, volume, walker)
            if sources.shape[0] == 0:
                break
            rank = st.paid_as[walker]
            rate = rates[rank, gen - 1]
            why = np.where(rank < top, REASON_NOT_BROKEN_AWAY,
                           np.where(rate <= 0, REASON_NO_RATE, 0))
            lost = why != 0
            st.add_skip("unilevel_generation", SOURCE_MEMBER, sources[lost], gen, walker[lost],
                        why[lost], -1)
            earner, source, base, paid_rate = take(~lost, walker, sources, volume, rate)
            st.add_pay(earner, "unilevel_generation", SOURCE_MEMBER, source, gen, base,
                       paid_rate, round_rate(base, paid_rate))
            walker = up[walker]

    def reference(self, st: ReferenceState, section: UnilevelGeneration) -> None:
        top = st.plan.rank_index(section.rank)
        names = [r.name for r in st.plan.ranks]
        volume_of = st.personal_cv(section.include_promotional)
        held = st.paid_as if section.compression else st.title
        for source in sorted(volume_of):
            volume = volume_of[source]
            if volume <= 0 or not st.active[source]:
                continue
            walker, gen = st.parent[source], 0
            while walker >= 0:
                if held[walker] >= top:
                    gen += 1
                    rank = st.paid_as[walker]
                    found = section.rates.get(names[rank], []) if rank >= 0 else []
                    if gen > max(map(len, section.rates.values()), default=0):
                        break
                    rate = found[gen - 1] if gen <= len(found) else 0
                    why = (REASON_NOT_BROKEN_AWAY if rank < top
                           else REASON_NO_RATE if rate <= 0 else 0)
                    if why:
                        st.add_skip("unilevel_generation", SOURCE_MEMBER, source, gen, walker,
                                    why, -1)
                    else:
                        st.add_pay(walker, "unilevel_generation", SOURCE_MEMBER, source, gen,
                                   volume, rate, round_half_away(volume * rate, BP))
                walker = st.parent[walker]

    def clawback_base(self, section: UnilevelGeneration | None, refunded: Refunded) -> int:
        include = section is not None and section.include_promotional
        return refunded.cv if (refunded.volume_kind == "consumption" or include) else 0

    def label(self, line: str, level: int) -> str:
        return _("generation bonus, generation %(generation)d") % {"generation": level}


BONUS = UnilevelGenerationBonus()
