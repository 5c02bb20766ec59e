"""Unilevel infinity: a rank's percentage of the unilevel volume past its last level.

A member paid as a rank with ``unilevel_infinity`` earns that rate of the unilevel volume of
each active member below them (the source) when (1) nobody from the source up to them, the
source included, is paid as their rank or higher, and (2) the unilevel bonus paid them no level
of that source's volume (the source is past their last level, or the levels ran out before
reaching them). Written as ``unilevel_infinity`` lines of the unilevel bonus (level 0), and
clawed back as unilevel lines are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from patronage.compensation.core.arrays import I64, Bools, round_rate, take
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.units import BP
from patronage.money import round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.bonuses.state import PayState, ReferenceState
    from patronage.compensation.core.plan import Plan


def has_infinity(plan: Plan) -> bool:
    return any(r.unilevel_infinity for r in plan.ranks)


def _rates(plan: Plan) -> I64:
    """Infinity rates by paid-as rank index (the last entry: no rank)."""
    return np.array([r.unilevel_infinity for r in plan.ranks] + [0], dtype=np.int64)


def pay_infinity(st: PayState, sources: I64, volume: I64, paid: list[tuple[I64, I64]]) -> None:
    """Infinity lines for the active ``sources`` (with their unilevel ``volume``); ``paid``
    holds the (earner, source) pairs of the unilevel lines already written."""
    n = np.int64(st.g.size)
    paid_keys = np.sort(np.concatenate([e * n + s for e, s in paid] or
                                       [np.zeros(0, dtype=np.int64)]))
    rates = _rates(st.plan)
    # Row r + 1: for every distributor, the nearest upline paid as a rank above r (r = -1..).
    ranks = len(st.plan.ranks)
    above = [st.tree.nearest_above(st.paid_as > r) for r in range(-1, ranks - 1)]
    highest = st.paid_as[sources]
    cur = sources
    for _ in range(ranks):
        keep = highest < ranks - 1
        sources, volume, cur, highest = take(keep, sources, volume, cur, highest)
        if sources.shape[0] == 0:
            break
        found = np.full(sources.shape[0], -1, dtype=np.int64)
        for r in np.unique(highest).tolist():
            at = highest == r
            found[at] = above[r + 1][cur[at]]
        sources, volume, found = take(found >= 0, sources, volume, found)
        rate = rates[st.paid_as[found]]
        already = _among(found * n + sources, paid_keys)
        earner, source, base, paid_rate = take((rate > 0) & ~already, found, sources, volume,
                                                rate)
        st.add_pay(earner, "unilevel_infinity", SOURCE_MEMBER, source, 0, base, paid_rate,
                   round_rate(base, paid_rate))
        cur, highest = found, st.paid_as[found]


def _among(keys: I64, sorted_keys: I64) -> Bools:
    """Which of ``keys`` are in ``sorted_keys``."""
    if sorted_keys.shape[0] == 0:
        return np.zeros(keys.shape[0], dtype=bool)
    spot = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.shape[0] - 1)
    found: Bools = sorted_keys[spot] == keys
    return found


def reference_infinity(st: ReferenceState, source: int, volume: int, paid: set[int]) -> None:
    """Infinity on one active source's volume: up the chain, each member paid as a rank
    higher than everyone below them down to the source; ``paid``: who its levels paid."""
    highest = st.paid_as[source]
    walker = st.parent[source]
    while walker >= 0:
        rank = st.paid_as[walker]
        if rank > highest:
            rate = st.plan.ranks[rank].unilevel_infinity
            if rate > 0 and walker not in paid:
                st.add_pay(walker, "unilevel_infinity", SOURCE_MEMBER, source, 0, volume, rate,
                           round_half_away(volume * rate, BP))
            highest = rank
        walker = st.parent[walker]
