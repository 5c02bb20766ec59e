"""Ranks of the committed periods before the one being run, and the rules over time that read
them: a rank held for several consecutive periods before it is paid, a grace period keeping the
paid-as rank after failing, and "paid as the lower of this period and the last".

A period here is a committed run: periods without orders are never committed and do not count.
The rules are stated in ``docs/plan-file.md`` ("Ranks over time"). :func:`paid_over_time` is
the vectorised rule, :func:`reference_paid_over_time` the same rule member by member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from patronage.compensation.core.arrays import I64, Bools

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


@dataclass(frozen=True)
class RankHistory:
    """By member index, the ranks of the committed periods before this one, row 0 the last:
    the rank qualified for (what the period's volumes earned, before the rules over time), the
    paid-as rank and the title. -1: no rank, or no such period, or not a member then."""

    qualified: I64
    paid_as: I64
    title: I64

    @classmethod
    def empty(cls, n: int) -> RankHistory:
        z = np.zeros((0, n), dtype=np.int64)
        return cls(z, z, z)

    @property
    def periods(self) -> int:
        return int(self.qualified.shape[0])

    def row(self, name: str, j: int, n: int) -> I64:
        """Row ``j`` (0: the last committed period) of ``name``; all -1 beyond the history."""
        table: I64 = getattr(self, name)
        if j < table.shape[0]:
            return np.asarray(table[j], dtype=np.int64)
        return np.full(n, -1, dtype=np.int64)


def periods_needed(min_periods: list[int], grace: int, lower_of_last: bool) -> int:
    """How many committed periods before this one the rules over time read."""
    return max(min_periods, default=1) - 1 + grace + int(lower_of_last)


def history_periods(plan: Plan) -> int:
    """How many committed periods before this one a run of ``plan`` reads: the rules over
    time's and the bonus types' (0: none)."""
    rule = plan.paid_as
    own = periods_needed([r.min_periods for r in plan.ranks], rule.grace_periods if rule else 0,
                         rule.lower_of_last if rule else False) if plan.ranks_over_time() else 0
    return max([own] + [bonus.history_periods(section)
                        for bonus, section in plan.bonuses.present()])


def paid_over_time(qualified: I64, active: Bools, history: RankHistory, min_periods: list[int],
                   grace: int, lower_of_last: bool) -> I64:
    """Paid-as ranks from this period's qualified ranks and the history (vectorised)."""
    n = qualified.shape[0]
    window = periods_needed(min_periods, grace, lower_of_last) + 1
    q = np.stack([qualified] + [history.row("qualified", j, n) for j in range(window - 1)])

    def held(j: int) -> I64:
        out = np.full(n, -1, dtype=np.int64)
        for r, k in enumerate(min_periods):
            ok = q[j:j + k].min(axis=0) >= r
            out = np.where(ok, r, out)
        return out

    held_rows = [held(j) for j in range(grace + 1 + int(lower_of_last))]
    base = [np.minimum(held_rows[j], held_rows[j + 1]) if lower_of_last else held_rows[j]
            for j in range(grace + 1)]
    paid = np.max(np.stack(base), axis=0)
    return np.where(active, paid, -1)


def reference_paid_over_time(qualified: list[int], active: list[bool],
                             history: RankHistory, min_periods: list[int], grace: int,
                             lower_of_last: bool) -> list[int]:
    """The same rule, member by member, period by period."""
    window = periods_needed(min_periods, grace, lower_of_last) + 1
    out = []
    for i, now in enumerate(qualified):
        # This period's qualified rank, then each earlier period's (-1 beyond the history).
        q = [now] + [int(row[i]) for row in history.qualified] + [-1] * window

        def held(j: int, q: list[int] = q) -> int:
            """The highest rank qualified for in period j and the periods before it that the
            rank asks for."""
            best = -1
            for r, k in enumerate(min_periods):
                if all(q[j + d] >= r for d in range(k)):
                    best = r
            return best

        paid = -1
        for j in range(grace + 1):
            rank = min(held(j), held(j + 1)) if lower_of_last else held(j)
            paid = max(paid, rank)
        out.append(paid if active[i] else -1)
    return out
