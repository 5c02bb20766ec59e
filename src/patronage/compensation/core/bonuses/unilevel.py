"""Unilevel: ``rates[level]`` of the consumption CV of each active member, paid up the sponsor
chain level by level, with no, static or dynamic compression. A rank with its own
``unilevel_rates`` pays its members those rates instead (rates by rank). Clawed back by the CV
an earlier period's refund of a member's consumption order returns."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import I64, round_rate, take
from patronage.compensation.core.bonuses.base import BonusType, Refunded
from patronage.compensation.core.bonuses.infinity import (
    has_infinity,
    pay_infinity,
    reference_infinity,
)
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.tree import Pointers
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class Unilevel(Strict):
    """rate[level] × consumption CV of the member at that level below the earner."""

    rates: list[int] = Field(default_factory=list)
    compression: Literal["none", "static", "dynamic"] = "dynamic"
    include_promotional: bool = False

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v: Any) -> list[int]:
        return [bp(x) for x in v]


class UnilevelBonus(BonusType[Unilevel]):
    name = "unilevel"
    model = Unilevel
    lines: ClassVar[dict[str, int]] = {"unilevel": 2, "unilevel_infinity": 12}
    names: ClassVar[dict[str, str]] = {"unilevel": N_("unilevel"),
                                       "unilevel_infinity": N_("unilevel infinity")}
    clawed_sources = ("member",)

    def check(self, plan: Plan, section: Unilevel) -> list[tuple[str, str]]:
        problems = [(f"ranks[{i}].unilevel_depth",
                     f"{rank.unilevel_depth} levels but bonuses.unilevel.rates gives "
                     f"only {len(section.rates)}")
                    for i, rank in enumerate(plan.ranks)
                    if rank.unilevel_rates is None and rank.unilevel_depth > len(section.rates)]
        problems += [(f"ranks[{i}].unilevel_rates", "rates add up to more than 100%")
                     for i, rank in enumerate(plan.ranks)
                     if rank.unilevel_rates is not None and sum(rank.unilevel_rates) > BP]
        if not section.rates and all(r.unilevel_rates is None for r in plan.ranks):
            problems.append(("bonuses.unilevel.rates", "give at least one level (or "
                             "unilevel_rates on the ranks)"))
        if sum(section.rates) > BP:
            problems.append(("bonuses.unilevel.rates", "rates add up to more than 100%"))
        return problems

    def pay(self, st: PayState, section: Unilevel) -> None:
        volume_of = st.personal_cv(section.include_promotional)
        sources = np.flatnonzero(volume_of > 0)
        is_active = st.active[sources]
        idle = sources[~is_active]
        st.add_skip("unilevel", SOURCE_MEMBER, idle, 0, idle, st.reason(idle, 0), -1)
        sources = sources[is_active]
        volume = volume_of[sources]
        below = sources
        paid: list[tuple[I64, I64]] | None = [] if has_infinity(st.plan) else None
        infinity_from = (sources, volume)
        above_active = (st.tree.nearest_above_cached(("active",), lambda: st.active)
                        if section.compression == "static" else None)
        for level, rate_of in enumerate(level_rates(st.plan, section), start=1):
            first = st.parent[below]
            sources, volume, below, first = take(first >= 0, sources, volume, below, first)
            if sources.shape[0] == 0:
                break
            payee, next_below = _payees(st, section, level, below, first, above_active)
            moved_from, moved, moved_to = take(payee != first, sources, first, payee)
            st.add_skip("unilevel", SOURCE_MEMBER, moved_from, level, moved,
                        st.reason(moved, level), moved_to)
            earner, paid_from, paid_volume = take(payee >= 0, payee, sources, volume)
            same = bool((rate_of[:-1] == rate_of[0]).all())  # payees all hold a rank
            rate = int(rate_of[0]) if same else rate_of[st.paid_as[earner]]
            st.add_pay(earner, "unilevel", SOURCE_MEMBER, paid_from, level, paid_volume, rate,
                       round_rate(paid_volume, rate))
            if paid is not None:
                paid.append((earner, paid_from))
            sources, volume, below = take(next_below >= 0, sources, volume, next_below)
        if paid is not None:
            pay_infinity(st, *infinity_from, paid)

    def reference(self, st: ReferenceState, section: Unilevel) -> None:
        volume_of = st.personal_cv(section.include_promotional)
        for source in sorted(volume_of):
            volume = volume_of[source]
            if volume <= 0:
                continue
            if not st.active[source]:
                st.add_skip("unilevel", SOURCE_MEMBER, source, 0, source, st.reason(source, 0),
                            -1)
                continue
            paid = _reference_source(st, section, source, volume)
            if has_infinity(st.plan):
                reference_infinity(st, source, volume, paid)

    def clawback_base(self, section: Unilevel | None, refunded: Refunded) -> int:
        include = section is not None and section.include_promotional
        return refunded.cv if (refunded.volume_kind == "consumption" or include) else 0


def rate_at(plan: Plan, uni: Unilevel, rank: int, level: int) -> int:
    """The unilevel rate a member paid as ``rank`` (an index; -1: none) earns at ``level``:
    the rank's own ``unilevel_rates`` when it has them, else the section's (0 past the end)."""
    own = plan.ranks[rank].unilevel_rates if rank >= 0 else None
    rates = own if own is not None else uni.rates
    return rates[level - 1] if level <= len(rates) else 0


def level_rates(plan: Plan, uni: Unilevel) -> list[I64]:
    """For each level paid, the rate by paid-as rank index (the last entry: no rank)."""
    return [np.array([rate_at(plan, uni, r, level) for r in range(len(plan.ranks))] + [0],
                     dtype=np.int64) for level in range(1, deepest(plan, uni) + 1)]


def deepest(plan: Plan, uni: Unilevel) -> int:
    """How many levels any rank is paid (the section's rates or a rank's own)."""
    return max([len(uni.rates), *(len(r.unilevel_rates or []) for r in plan.ranks)])


def _payees(st: PayState, uni: Unilevel, level: int, below: I64, first: I64,
            above_active: Pointers | None) -> tuple[I64, I64]:
    """Who is paid at ``level`` for sources whose chain has reached ``below`` (-1: nobody),
    and where the walk goes on from."""
    if uni.compression == "none":
        return np.where(st.reason(first, level) == 0, first, -1), first
    if above_active is not None:
        walker = np.where(st.active[first], first, above_active[below])
        payee = np.where((walker >= 0) & (st.depth_paid[np.maximum(walker, 0)] >= level),
                         walker, -1)
        return payee, walker
    # Levels that the same ranks pay share their pointers.
    key = ("depth", tuple(r.unilevel_depth >= level for r in st.plan.ranks))
    payee = st.tree.nearest_above_cached(key, partial(st.paid_to, level))[below]
    return payee, payee


def _reference_source(st: ReferenceState, uni: Unilevel, source: int, volume: int) -> set[int]:
    """One active member's volume, paid level by level up the sponsor chain; who was paid."""
    paid: set[int] = set()
    below = source
    for level in range(1, deepest(st.plan, uni) + 1):
        first = st.parent[below]
        if first < 0:
            return paid
        found = _reference_payee(st, uni, level, first)
        if found is None:  # static compression found nobody active above
            st.add_skip("unilevel", SOURCE_MEMBER, source, level, first, st.reason(first, level),
                        -1)
            return paid
        payee, next_below = found
        if payee != first:
            st.add_skip("unilevel", SOURCE_MEMBER, source, level, first, st.reason(first, level),
                        payee)
        if payee >= 0:
            rate = rate_at(st.plan, uni, st.paid_as[payee], level)
            st.add_pay(payee, "unilevel", SOURCE_MEMBER, source, level, volume, rate,
                       round_half_away(volume * rate, BP))
            paid.add(payee)
        if next_below < 0:
            return paid
        below = next_below
    return paid


def _reference_payee(st: ReferenceState, uni: Unilevel, level: int,
                     first: int) -> tuple[int, int] | None:
    """(payee or -1, where the walk goes on from) at ``level`` from ``first`` up."""
    if uni.compression == "none":
        return (first if st.reason(first, level) == 0 else -1), first
    walker = first
    if uni.compression == "static":
        while walker >= 0 and not st.active[walker]:
            walker = st.parent[walker]
        if walker < 0:
            return None
        return (walker if st.depth_paid[walker] >= level else -1), walker
    while walker >= 0 and st.reason(walker, level) != 0:
        walker = st.parent[walker]
    return walker, walker


BONUS = UnilevelBonus()
