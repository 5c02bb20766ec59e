"""Stair-step: a differential on CV by paid-as rank, paid up to the breakaway line, and
generation overrides on each broken-away group to the breakaway uplines above it.

Writes two kinds of payout lines: ``stair_step`` (the differential) and ``generation`` (the
overrides); a global cap naming ``stair_step`` covers both. The generation rates are one list for
every breakaway rank, or a list per rank (``generation_rates_by_rank``): the earner's paid-as rank
picks the list, and a generation its list does not reach is passed over (``REASON_NO_RATE``).
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import I64, Bools, round_rate, take
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.bonuses.unilevel_generation import rate_problems, rate_table
from patronage.compensation.core.codes import REASON_NO_RATE, REASON_NOT_BROKEN_AWAY, SOURCE_MEMBER
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_, _
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class StairStep(Strict):
    """Differential on group CV by paid-as rank, with breakaway generation overrides.

    ``rates`` maps rank names to rates (ranks not named earn 0). A member paid as
    ``breakaway_rank`` or higher breaks away: their group leaves their upline's stair-step group,
    and pays ``generation_rates[g-1]`` of it to the g-th breakaway upline above (or
    ``generation_rates_by_rank[rank][g-1]``, ``rank`` the upline's paid-as rank).
    """

    rates: dict[str, int]
    breakaway_rank: str | None = None
    generation_rates: list[int] = Field(default_factory=list)
    generation_rates_by_rank: dict[str, list[int]] = Field(default_factory=dict)
    generational_compression: bool = True
    include_promotional: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> dict[str, int]:
        if not isinstance(v, dict):
            raise ValueError("give a table of rank name = rate")
        return {str(k): bp(x) for k, x in v.items()}

    @field_validator("generation_rates", mode="before")
    @classmethod
    def _gen(cls, v: Any) -> list[int]:
        return [bp(x) for x in v]

    @field_validator("generation_rates_by_rank", mode="before")
    @classmethod
    def _gen_by_rank(cls, v: Any) -> dict[str, list[int]]:
        if not isinstance(v, dict) or not all(isinstance(x, list) for x in v.values()):
            raise ValueError("give a table of rank name = [generation 1 rate, ...]")
        return {str(k): [bp(x) for x in rates] for k, rates in v.items()}

    def generation_table(self, plan: Plan) -> I64:
        """Generation rates by (paid-as rank index, generation - 1); the last row: no rank."""
        if self.generation_rates_by_rank:
            return rate_table(plan, self.generation_rates_by_rank)
        out = np.zeros((len(plan.ranks) + 1, len(self.generation_rates)), dtype=np.int64)
        out[:-1] = self.generation_rates
        return out


def _by_rank_problems(plan: Plan, section: StairStep) -> list[tuple[str, str]]:
    """Generation rates by rank: known ranks at or above the breakaway rank, not beside the
    single list."""
    key = "bonuses.stair_step.generation_rates_by_rank"
    by_rank = section.generation_rates_by_rank
    if not by_rank:
        return []
    problems = [p for p in rate_problems(plan, key, by_rank) if p[1] == "unknown rank"]
    if section.generation_rates:
        problems.append((key, "give generation_rates or generation_rates_by_rank, not both"))
    if section.breakaway_rank is None:
        problems.append((key, "generations need a breakaway_rank"))
    elif section.breakaway_rank in [r.name for r in plan.ranks]:
        top = plan.rank_index(section.breakaway_rank)
        problems += [(f"{key}.{name}", f"below the breakaway rank {section.breakaway_rank!r}: "
                      "a member paid as it never earns generations")
                     for name in by_rank
                     if name in [r.name for r in plan.ranks] and plan.rank_index(name) < top]
    return problems


def _breakaway_index(plan: Plan, ss: StairStep) -> int:
    """The breakaway rank's index (past the top rank: nobody breaks away)."""
    return plan.rank_index(ss.breakaway_rank) if ss.breakaway_rank else len(plan.ranks)


class StairStepBonus(BonusType[StairStep]):
    name = "stair_step"
    model = StairStep
    lines: ClassVar[dict[str, int]] = {"stair_step": 5, "generation": 6}
    names: ClassVar[dict[str, str]] = {"stair_step": N_("stair step"),
                                       "generation": N_("generation")}

    def check(self, plan: Plan, section: StairStep) -> list[tuple[str, str]]:
        names = [r.name for r in plan.ranks]
        problems = [(f"bonuses.stair_step.rates.{rank_name}", "unknown rank")
                    for rank_name in section.rates if rank_name not in names]
        by_rank = [section.rates.get(r, 0) for r in names]
        if any(b < a for a, b in pairwise(by_rank)):
            problems.append(("bonuses.stair_step.rates",
                             "rates must not fall as ranks rise (a differential pays the "
                             "difference to higher ranks)"))
        if section.breakaway_rank is not None and section.breakaway_rank not in names:
            problems.append(("bonuses.stair_step.breakaway_rank",
                             f"unknown rank {section.breakaway_rank!r}"))
        if section.generation_rates and section.breakaway_rank is None:
            problems.append(("bonuses.stair_step.generation_rates",
                             "generations need a breakaway_rank"))
        problems += _by_rank_problems(plan, section)
        generations = max([sum(section.generation_rates),
                           *map(sum, section.generation_rates_by_rank.values())])
        if generations + max(section.rates.values(), default=0) > BP:
            problems.append(("bonuses.stair_step", "rates add up to more than 100%"))
        return problems

    def pay(self, st: PayState, section: StairStep) -> None:
        plan, paid_as = st.plan, st.paid_as
        rate_of = np.array([section.rates.get(r.name, 0) for r in plan.ranks] + [0],
                           dtype=np.int64)
        rate = np.where(st.active, rate_of[paid_as], 0)
        top = _breakaway_index(plan, section)
        broke = paid_as >= top
        cv_of = st.personal_cv(section.include_promotional)
        _pay_differential(st, cv_of, rate, rate_of, broke)
        group_cv = st.tree.sums_up_to(cv_of, broke)
        breakaways = np.flatnonzero(broke & (group_cv > 0))
        if section.generation_table(plan).shape[1] and breakaways.shape[0]:
            qualified = broke if section.generational_compression else st.title >= top
            _pay_generations(st, section, breakaways, group_cv[breakaways], broke, qualified)

    def label(self, line: str, level: int) -> str:
        if line == "generation":
            return _("breakaway generation %(generation)d") % {"generation": level}
        return super().label(line, level)

    def reference(self, st: ReferenceState, section: StairStep) -> None:
        n = st.g.size
        rate_of = [section.rates.get(rank.name, 0) for rank in st.plan.ranks]
        step_rate = [rate_of[st.paid_as[i]] if st.active[i] and st.paid_as[i] >= 0 else 0
                     for i in range(n)]
        top = _breakaway_index(st.plan, section)
        broke = [st.paid_as[i] >= top for i in range(n)]
        cv_of = st.personal_cv(section.include_promotional)
        for source in sorted(cv_of):
            if cv_of[source] > 0:
                _reference_differential(st, source, cv_of[source], step_rate, broke)
        group_cv = [0] * n  # group CV, cut below broken-away members
        for i in sorted(range(n), key=lambda m: -int(st.g.depth[m])):
            group_cv[i] += cv_of.get(i, 0)
            if st.parent[i] >= 0 and not broke[i]:
                group_cv[st.parent[i]] += group_cv[i]
        for b in range(n):
            if broke[b] and group_cv[b] > 0:
                _reference_generations(st, section, b, group_cv[b], broke, top)


def _pay_differential(st: PayState, cv_of: I64, rate: I64, rate_of: I64, broke: Bools) -> None:
    """Each member's own rate on their CV, then each higher-paid upline the difference, up to
    the first broken-away member."""
    sources = np.flatnonzero(cv_of > 0)
    volume = cv_of[sources]
    own_rate = rate[sources]
    earner, own_volume, own_rate = take(own_rate > 0, sources, volume, own_rate)
    st.add_pay(earner, "stair_step", SOURCE_MEMBER, earner, 0, own_volume, own_rate,
               round_rate(own_volume, own_rate))
    thresholds = np.unique(np.concatenate(([0], rate_of)))
    # Row t: for every distributor, the nearest upline paid more than thresholds[t].
    above = np.stack([st.tree.nearest_above(rate > t, broke).values for t in thresholds])
    position = st.tree.position
    paid = rate[sources]
    cur, origin = sources, sources
    for _step in range(thresholds.shape[0]):
        nxt = above[np.searchsorted(thresholds, paid), position[cur]]
        cur, paid, origin, volume, nxt = take(nxt >= 0, cur, paid, origin, volume, nxt)
        if cur.shape[0] == 0:
            break
        diff = rate[nxt] - paid
        st.add_pay(nxt, "stair_step", SOURCE_MEMBER, origin, 0, volume, diff,
                   round_rate(volume, diff))
        paid, cur = rate[nxt], nxt


def _pay_generations(st: PayState, ss: StairStep, breakaways: I64, base: I64, broke: Bools,
                     qualified: Bools) -> None:
    """Each broken-away group's CV to the breakaway uplines above it, generation by
    generation; a title holder not paid as a breakaway rank now lets the payment lapse."""
    up = st.tree.nearest_above(qualified)
    walker = up[breakaways]
    rates = ss.generation_table(st.plan)
    by_rank = bool(ss.generation_rates_by_rank)
    for gen in range(1, rates.shape[1] + 1):
        walker, base, breakaways = take(walker >= 0, walker, base, breakaways)
        if walker.shape[0] == 0:
            break
        gen_rate = rates[st.paid_as[walker], gen - 1]
        why = np.where(~broke[walker], REASON_NOT_BROKEN_AWAY,
                       np.where(by_rank & (gen_rate <= 0), REASON_NO_RATE, 0))
        lost = why != 0
        st.add_skip("generation", SOURCE_MEMBER, breakaways[lost], gen, walker[lost],
                    why[lost], -1)
        earner, source, paid_base, paid_rate = take(~lost, walker, breakaways, base, gen_rate)
        st.add_pay(earner, "generation", SOURCE_MEMBER, source, gen, paid_base, paid_rate,
                   round_rate(paid_base, paid_rate))
        walker = up[walker]


def _reference_differential(st: ReferenceState, source: int, volume: int, step_rate: list[int],
                            broke: list[bool]) -> None:
    """One member's CV: each upline paid a higher rate than anyone below earns the difference,
    up to and including the first broken-away member."""
    walker, paid_rate = source, 0
    while walker >= 0:
        if step_rate[walker] > paid_rate:
            diff = step_rate[walker] - paid_rate
            st.add_pay(walker, "stair_step", SOURCE_MEMBER, source, 0, volume, diff,
                       round_half_away(volume * diff, BP))
            paid_rate = step_rate[walker]
        if broke[walker]:
            break
        walker = st.parent[walker]


def _reference_generations(st: ReferenceState, ss: StairStep, b: int, group_cv: int,
                           broke: list[bool], top: int) -> None:
    """The broken-away group of ``b``, generation by generation to the breakaway uplines."""
    walker = st.parent[b]
    names = [r.name for r in st.plan.ranks]
    deepest = max([len(ss.generation_rates), *map(len, ss.generation_rates_by_rank.values())])
    for gen in range(1, deepest + 1):
        if ss.generational_compression:
            while walker >= 0 and not broke[walker]:
                walker = st.parent[walker]
        else:
            while walker >= 0 and st.title[walker] < top:
                walker = st.parent[walker]
        if walker < 0:
            return
        if ss.generation_rates_by_rank:
            rank = st.paid_as[walker]
            found = ss.generation_rates_by_rank.get(names[rank], []) if rank >= 0 else []
        else:
            found = ss.generation_rates
        gen_rate = found[gen - 1] if gen <= len(found) else 0
        if not broke[walker]:
            st.add_skip("generation", SOURCE_MEMBER, b, gen, walker, REASON_NOT_BROKEN_AWAY, -1)
        elif ss.generation_rates_by_rank and gen_rate <= 0:
            st.add_skip("generation", SOURCE_MEMBER, b, gen, walker, REASON_NO_RATE, -1)
        else:
            st.add_pay(walker, "generation", SOURCE_MEMBER, b, gen, group_cv, gen_rate,
                       round_half_away(group_cv * gen_rate, BP))
        walker = st.parent[walker]


BONUS = StairStepBonus()
