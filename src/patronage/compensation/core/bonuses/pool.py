"""Pools: a share of the period's company CV divided among the members paid as a rank or
higher, by shares.

Each pool is ``share_of_cv`` × the period's total CV (net of same-period refunds), rounded half
away from zero to the cent. It is divided among the members whose paid-as rank is at least
``min_rank`` in proportion to their weight: with ``divide = "shares"`` the shares their paid-as
rank holds (``shares``, one share for a rank not named: equal shares), with ``"pv"`` or
``"gv"`` their personal or group volume. Division is exact to the cent (largest remainder):
each member gets ``pool × weight // total weight`` and the cents left over go one each to the
members with the largest remainders, ties to the member who joined the genealogy first (lower
member index). With nobody qualified, or a total weight of 0, the pool is not paid.

Lines: source the member themselves, level the pool's number (1, 2, … in the plan's order),
volume the member's weight, no rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from patronage.compensation.core.arrays import I64
from patronage.compensation.core.bonuses.base import BonusType
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.units import BP, Strict, bp
from patronage.languages import N_, _
from patronage.money import format_amount, round_half_away

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan

LINE = "pool"


class Pool(Strict):
    """One pool: its share of company CV, who shares it, and by what."""

    name: str
    share_of_cv: int
    min_rank: str
    divide: Literal["shares", "pv", "gv"] = "shares"
    shares: dict[str, int] = Field(default_factory=dict)

    @field_validator("share_of_cv", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)

    @field_validator("shares", mode="before")
    @classmethod
    def _shares(cls, v: Any) -> dict[str, int]:
        if not isinstance(v, dict):
            raise ValueError("give a table of rank name = shares")
        out = {}
        for k, x in v.items():
            if not isinstance(x, int) or isinstance(x, bool) or not 1 <= x <= 1000:
                raise ValueError(f"shares of {k!r} must be a whole number from 1 to 1000")
            out[str(k)] = x
        return out


class Pools(Strict):
    """``[bonuses.pool]``: the pools, each ``[[bonuses.pool.pools]]``."""

    pools: list[Pool] = Field(min_length=1)


def pool_amount(total_cv: int, pool: Pool) -> int:
    """The pool's money: its share of the period's CV, half away from zero to the cent."""
    return round_half_away(max(total_cv, 0) * pool.share_of_cv, BP)


class PoolBonus(BonusType[Pools]):
    name = "pool"
    model = Pools
    lines: ClassVar[dict[str, int]] = {LINE: 8}
    names: ClassVar[dict[str, str]] = {LINE: N_("pool")}

    def check(self, plan: Plan, section: Pools) -> list[tuple[str, str]]:
        names = [r.name for r in plan.ranks]
        problems = []
        total = 0
        for j, pool in enumerate(section.pools):
            at = f"bonuses.pool.pools[{j}]"
            total += pool.share_of_cv
            if pool.min_rank not in names:
                problems.append((f"{at}.min_rank", f"unknown rank {pool.min_rank!r}"))
                continue
            low = names.index(pool.min_rank)
            for rank in pool.shares:
                if rank not in names:
                    problems.append((f"{at}.shares.{rank}", "unknown rank"))
                elif names.index(rank) < low:
                    problems.append((f"{at}.shares.{rank}",
                                     f"below the pool's minimum rank {pool.min_rank!r}"))
            if pool.shares and pool.divide != "shares":
                problems.append((f"{at}.shares", f"shares are not read when dividing by "
                                 f"{pool.divide}: remove them or divide = \"shares\""))
        if total > BP:
            problems.append(("bonuses.pool.pools", "pools add up to more than 100% of CV"))
        return problems

    def describe(self, plan: Plan, level: int, volume: int) -> str | None:
        section = self.section_of(plan)
        if section is None or not 1 <= level <= len(section.pools):
            return None
        pool = section.pools[level - 1]
        words = {"pool": pool.name, "share": f"{pool.share_of_cv / 100:g}",
                 "rank": pool.min_rank, "weight": str(volume) if pool.divide == "shares"
                 else format_amount(volume)}
        if pool.divide == "shares":
            return _("%(pool)s: %(share)s%% of the company's CV shared by everyone paid as "
                     "%(rank)s or higher, %(weight)s share(s) here") % words
        text = (_("%(pool)s: %(share)s%% of the company's CV shared by everyone paid as "
                  "%(rank)s or higher in proportion to personal volume, %(weight)s PV here")
                if pool.divide == "pv" else
                _("%(pool)s: %(share)s%% of the company's CV shared by everyone paid as "
                  "%(rank)s or higher in proportion to group volume, %(weight)s GV here"))
        return text % words

    def label(self, line: str, level: int) -> str:
        return _("pool %(pool)d") % {"pool": level} if level else super().label(line, level)

    def pay(self, st: PayState, section: Pools) -> None:
        total_cv = int(st.cv.sum())
        for j, pool in enumerate(section.pools, start=1):
            low = st.plan.rank_index(pool.min_rank)
            who = np.flatnonzero(st.paid_as >= low)
            weight = _weights(st, pool, who)
            who, weight = who[weight > 0], weight[weight > 0]
            amount = pool_amount(total_cv, pool)
            if who.shape[0] == 0 or amount == 0:
                continue
            st.add_pay(who, LINE, SOURCE_MEMBER, who, j, weight, 0,
                       largest_remainder(amount, weight))

    def reference(self, st: ReferenceState, section: Pools) -> None:
        total_cv = sum(net[1] for net in st.net.values())
        for j, pool in enumerate(section.pools, start=1):
            low = st.plan.rank_index(pool.min_rank)
            weights = {}
            for i in range(st.g.size):
                if st.paid_as[i] < low:
                    continue
                rank = st.plan.ranks[st.paid_as[i]].name
                w = {"shares": pool.shares.get(rank, 1), "pv": st.pv[i],
                     "gv": st.gv[i]}[pool.divide]
                if w > 0:
                    weights[i] = w
            amount = pool_amount(total_cv, pool)
            if not weights or amount == 0:
                continue
            total = sum(weights.values())
            share = {i: amount * w // total for i, w in weights.items()}
            left = amount - sum(share.values())
            by_remainder = sorted(weights, key=lambda i: (-(amount * weights[i] % total), i))
            for i in by_remainder[:left]:
                share[i] += 1
            for i in sorted(weights):
                st.add_pay(i, LINE, SOURCE_MEMBER, i, j, weights[i], 0, share[i])


def _weights(st: PayState, pool: Pool, who: I64) -> I64:
    if pool.divide == "shares":
        by_rank = np.array([pool.shares.get(r.name, 1) for r in st.plan.ranks], dtype=np.int64)
        return by_rank[st.paid_as[who]]
    return np.maximum((st.pv if pool.divide == "pv" else st.gv)[who], 0)


def largest_remainder(amount: int, weight: I64) -> I64:
    """``amount`` divided in proportion to ``weight`` (all > 0), exact to the cent: the floor
    of each share, then the cents left one each to the largest remainders (ties: first)."""
    total = int(weight.sum())
    if amount * total < 2**62:
        product = amount * weight
        share, rest = product // total, product % total
        order = np.lexsort((np.arange(weight.shape[0]), -rest))  # largest rest first
    else:  # beyond 64 bits: Python integers over the members of the pool
        exact = [amount * int(w) for w in weight.tolist()]
        share = np.array([x // total for x in exact], dtype=np.int64)
        rests = [x % total for x in exact]
        order = np.array(sorted(range(len(rests)), key=lambda k: (-rests[k], k)),
                         dtype=np.int64)
    left = amount - int(share.sum())
    share[order[:left]] += 1
    return share


BONUS = PoolBonus()
