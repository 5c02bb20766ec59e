"""Binary: pairs of left and right leg volume in the placement tree, paid to the member above.

Each distributor's personal CV of the period counts in every leg it is placed under. A
member's two leg volumes are what was carried over from the previous period plus the
period's volume of the placement subtree on that side. The leg with more volume is the strong
leg (the left one on a tie); a pair takes ``ratio[0]`` units of ``unit`` volume from it and
``ratio[1]`` units from the weak leg. A qualified member (active, in good standing, paid as
``min_rank`` or above when the plan names one) is paid ``rate`` of the weak-leg volume paired
plus ``pair_amount`` per pair, at most ``cap`` a period. What was not paired is carried over
to the next period: both legs, or only the strong leg when ``flush_weak``, each at most
``carry_cap``. A member who does not qualify pairs nothing; their legs are carried whole, or
flushed to zero when ``flush_inactive``. Never clawed back (the pairs are not undone).
``placement`` names the rule that places new distributors in the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import field_validator

from patronage.arrays import I8
from patronage.compensation.core.arrays import I64
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import REASON_RANK_DEPTH, SOURCE_MEMBER
from patronage.compensation.core.units import BP, Strict, bp, hundredths
from patronage.facts import SIDE_LEFT, SIDE_RIGHT, Placement
from patronage.languages import N_, _
from patronage.money import round_half_away
from patronage.network.core.genealogy import depths

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan

#: Names of the arrays the binary bonus carries from one period to the next.
CARRY_LEFT, CARRY_RIGHT = "binary_left", "binary_right"


class Binary(Strict):
    """Pairs of leg volume: ``ratio`` units of ``unit`` points (strong leg : weak leg) each,
    paid ``rate`` of the weak-leg volume paired plus ``pair_amount`` a pair, up to ``cap``."""

    unit: int = 1  # hundredths of a point of volume per unit (default: 0.01 points)
    ratio: tuple[int, int] = (1, 1)
    rate: int = 0
    pair_amount: int = 0
    cap: int = 0  # currency hundredths a period (0: no cap)
    carry_cap: int = 0  # hundredths of a point carried per leg (0: no limit)
    flush_weak: bool = False
    flush_inactive: bool = False
    min_rank: str | None = None
    include_promotional: bool = False
    #: The calendar it is paid on: each month's run, or each ISO week's ("week").
    period: Literal["month", "week"] = "month"
    #: Where a new distributor is placed relative to their sponsor
    #: (:mod:`patronage.network.placement`).
    placement: Literal["left", "right", "extreme_left", "extreme_right", "weak_leg"] = \
        "weak_leg"

    @field_validator("unit", "pair_amount", "cap", "carry_cap", mode="before")
    @classmethod
    def _hundredths(cls, v: Any) -> int:
        return hundredths(v)

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: tuple[int, int]) -> tuple[int, int]:
        if min(v) < 1 or max(v) > 100:
            raise ValueError("each side of the ratio is a whole number of units, 1 to 100")
        return v


class BinaryBonus(BonusType[Binary]):
    name = "binary"
    weekly = True
    model = Binary
    lines: ClassVar[dict[str, int]] = {"binary": 13}
    names: ClassVar[dict[str, str]] = {"binary": N_("binary")}
    money = ("pair_amount", "cap")

    def check(self, plan: Plan, section: Binary) -> list[tuple[str, str]]:
        problems = []
        if section.unit <= 0:
            problems.append(("bonuses.binary.unit", "a unit of volume must be above 0"))
        if section.rate == 0 and section.pair_amount == 0:
            problems.append(("bonuses.binary", "give a rate, a pair_amount or both"))
        names = [r.name for r in plan.ranks]
        if section.min_rank is not None and section.min_rank not in names:
            problems.append(("bonuses.binary.min_rank", f"unknown rank {section.min_rank!r}"))
        return problems

    def pay(self, st: PayState, section: Binary) -> None:
        # Only distributors are placed and carry volume: everything runs over them alone.
        n, placement = st.g.size, st.facts.placement
        dist = np.flatnonzero(st.is_dist)
        volume = st.personal_cv(section.include_promotional)[dist]
        left = _carried(st.facts.carry_in, CARRY_LEFT, n)[dist]
        right = _carried(st.facts.carry_in, CARRY_RIGHT, n)[dist]
        if placement is not None:
            above = placement.parent[dist]
            at = np.where(above >= 0, st.tree.position[np.maximum(above, 0)], -1)
            new_left, new_right = leg_volumes(at, placement.side[dist], volume)
            left += new_left
            right += new_right
        why = _why_not(st.reason(dist, 0), st.paid_as[dist], _min_rank(st.plan, section))
        a, b, u = section.ratio[0], section.ratio[1], section.unit
        left_strong = left >= right
        strong, weak = np.where(left_strong, left, right), np.where(left_strong, right, left)
        pairs = np.minimum(strong // (a * u), weak // (b * u))
        pairs[why != 0] = 0
        strong -= pairs * a * u
        weak -= pairs * b * u
        paid = np.flatnonzero(pairs)
        paired = pairs[paid] * b * u
        amount = (2 * paired * section.rate + BP) // (2 * BP) + pairs[paid] * section.pair_amount
        if section.cap:
            amount = np.minimum(amount, section.cap)
        earner = dist[paid]
        st.add_pay(earner, "binary", SOURCE_MEMBER, earner, 0, paired, section.rate, amount)
        lost = np.flatnonzero((why > 0) & (np.minimum(left, right) > 0))
        st.add_skip("binary", SOURCE_MEMBER, dist[lost], 0, dist[lost], why[lost], -1)
        if section.flush_weak:
            weak[paid] = 0
        strong, weak = _flush(section, why, strong), _flush(section, why, weak)
        for key, leg in ((CARRY_LEFT, np.where(left_strong, strong, weak)),
                         (CARRY_RIGHT, np.where(left_strong, weak, strong))):
            st.carry[key] = np.zeros(n, dtype=np.int64)
            st.carry[key][dist] = leg

    def reference(self, st: ReferenceState, section: Binary) -> None:
        n = st.g.size
        cv = st.personal_cv(section.include_promotional)
        legs = _reference_legs(st.facts.placement, [cv.get(i, 0) if st.is_dist[i] else 0
                                                    for i in range(n)])
        min_rank = _min_rank(st.plan, section)
        out_left, out_right = [0] * n, [0] * n
        for m in range(n):
            if not st.is_dist[m]:
                continue
            left = _carried_at(st.facts.carry_in, CARRY_LEFT, m) + legs[m][SIDE_LEFT]
            right = _carried_at(st.facts.carry_in, CARRY_RIGHT, m) + legs[m][SIDE_RIGHT]
            why = st.reason(m, 0)
            if why == 0 and st.paid_as[m] < min_rank:
                why = REASON_RANK_DEPTH
            out_left[m], out_right[m] = _reference_member(st, section, m, left, right, why)
        st.carry[CARRY_LEFT] = np.array(out_left, dtype=np.int64)
        st.carry[CARRY_RIGHT] = np.array(out_right, dtype=np.int64)

    def label(self, line: str, level: int) -> str:
        return _("binary: pairs of left and right leg volume")


def _min_rank(plan: Plan, section: Binary) -> int:
    return -1 if section.min_rank is None else plan.rank_index(section.min_rank)


def _why_not(reason: I64, paid_as: I64, min_rank: int) -> I64:
    return np.where((reason == 0) & (paid_as < min_rank), REASON_RANK_DEPTH, reason)


def _flush(section: Binary, why: I64, leg: I64) -> I64:
    """What of ``leg`` (after pairing) is carried to the next period."""
    if section.flush_inactive:
        leg = np.where(why > 0, 0, leg)
    return np.minimum(leg, section.carry_cap) if section.carry_cap else leg


def _carried(carry_in: dict[str, I64], key: str, n: int) -> I64:
    found = carry_in.get(key)
    return np.zeros(n, dtype=np.int64) if found is None else np.asarray(found, dtype=np.int64)


def _carried_at(carry_in: dict[str, I64], key: str, m: int) -> int:
    found = carry_in.get(key)
    return 0 if found is None else int(found[m])


def leg_volumes(parent: I64, side: I8, volume: I64) -> tuple[I64, I64]:
    """Each member's left and right leg volume: the sum of ``volume`` over the placement
    subtree of the member placed on that side (``parent`` and ``side`` as in
    :class:`~patronage.facts.Placement`). One loop per placement tree level, deepest first;
    the two members below a parent are on different sides, so each side's adds never
    collide."""
    n = parent.shape[0]
    total = np.asarray(volume, dtype=np.int64).copy()
    depth = depths(parent)
    order = np.argsort(depth, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(depth, minlength=1))))
    left, right = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for d in range(len(bounds) - 2, 0, -1):
        members = order[bounds[d]: bounds[d + 1]]
        on_left = side[members] == SIDE_LEFT
        for placed, leg in ((members[on_left], left), (members[~on_left], right)):
            leg[parent[placed]] = total[placed]
            total[parent[placed]] += total[placed]
    return left, right


def _reference_legs(placement: Placement | None, volume: list[int]) -> list[list[int]]:
    """[left, right] leg volume of every member: each member's volume added to the leg of
    every member above it in the placement tree, walking up one parent at a time."""
    n = len(volume)
    legs = [[0, 0] for _ in range(n)]
    if placement is None:
        return legs
    for m in range(n):
        below, above = m, int(placement.parent[m])
        while above >= 0:
            legs[above][int(placement.side[below])] += volume[m]
            below, above = above, int(placement.parent[above])
    return legs


def _reference_member(st: ReferenceState, section: Binary, m: int, left: int, right: int,
                      why: int) -> tuple[int, int]:
    """Pair one member's legs, pay them, and return what they carry (left, right)."""
    if why:
        if min(left, right) > 0:
            st.add_skip("binary", SOURCE_MEMBER, m, 0, m, why, -1)
        if section.flush_inactive:
            return 0, 0
        return _capped(section, left), _capped(section, right)
    a, b, u = section.ratio[0], section.ratio[1], section.unit
    strong, weak = (left, right) if left >= right else (right, left)
    pairs = min(strong // (a * u), weak // (b * u))
    strong, weak = strong - pairs * a * u, weak - pairs * b * u
    if pairs:
        paired = pairs * b * u
        amount = round_half_away(paired * section.rate, BP) + pairs * section.pair_amount
        if section.cap:
            amount = min(amount, section.cap)
        st.add_pay(m, "binary", SOURCE_MEMBER, m, 0, paired, section.rate, amount)
        if section.flush_weak:
            weak = 0
    strong, weak = _capped(section, strong), _capped(section, weak)
    return (strong, weak) if left >= right else (weak, strong)


def _capped(section: Binary, leg: int) -> int:
    return min(leg, section.carry_cap) if section.carry_cap else leg


BONUS = BinaryBonus()
