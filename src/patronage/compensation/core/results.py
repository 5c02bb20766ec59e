"""What a period run produces: payout lines, ranks, and the reasons for every payment not made.

Both engines (:mod:`.reference` and :mod:`.engine`) return a :class:`RunResult`; the property
tests hold them equal field by field. Members are genealogy indexes here; the run service turns
them into member ids and names.

What the engines compute (volumes, ranks, every bonus, rounding, the cap, clawbacks) is stated
once, in docs/plan-file.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from patronage.arrays import I64, Bools
from patronage.compensation.core.bonuses import BONUS_TYPES
from patronage.compensation.core.codes import (
    REASON_INACTIVE,
    REASON_NO_UPLINE,
    REASON_NOT_BROKEN_AWAY,
    REASON_NOT_DISTRIBUTOR,
    REASON_NOT_IN_STANDING,
    REASON_RANK_DEPTH,
    REASONS,
    SOURCE_KINDS,
    SOURCE_MEMBER,
    SOURCE_ORDER,
)
from patronage.compensation.core.plan import Plan

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan

__all__ = [
    "BONUSES", "BONUS_CODE", "REASONS", "REASON_INACTIVE", "REASON_NOT_BROKEN_AWAY",
    "REASON_NOT_DISTRIBUTOR", "REASON_NOT_IN_STANDING", "REASON_NO_UPLINE", "REASON_RANK_DEPTH",
    "SOURCE_KINDS", "SOURCE_MEMBER", "SOURCE_ORDER", "Payouts", "RunResult", "Skips",
    "capped_codes", "empty_skips", "sort_payouts",
]

#: Payout line names by their stored code (each bonus type's module states its codes).
BONUSES = BONUS_TYPES.lines
BONUS_CODE = BONUS_TYPES.code


@dataclass(frozen=True)
class Payouts:
    """Payout lines as parallel arrays, in an order fixed by the engine (deterministic, not
    meaningful); :meth:`rows` gives them sorted."""

    earner: I64
    bonus: I64
    source_kind: I64
    source: I64
    level: I64
    volume: I64
    rate_bp: I64
    amount: I64

    @property
    def size(self) -> int:
        return int(self.earner.shape[0])

    def rows(self) -> list[tuple[int, ...]]:
        cols = (self.earner, self.bonus, self.source_kind, self.source, self.level, self.volume,
                self.rate_bp, self.amount)
        return sorted(tuple(int(v) for v in row) for row in zip(*cols, strict=True))


@dataclass(frozen=True)
class Skips:
    """Payments not made to the member first in line: who was passed over, why, and who got it
    instead (``passed_to`` -1: nobody, the payment lapsed)."""

    bonus: I64
    source_kind: I64
    source: I64
    level: I64
    member: I64
    reason: I64
    passed_to: I64

    @property
    def size(self) -> int:
        return int(self.bonus.shape[0])

    def rows(self) -> list[tuple[int, ...]]:
        cols = (self.bonus, self.source_kind, self.source, self.level, self.member, self.reason,
                self.passed_to)
        return sorted(tuple(int(v) for v in row) for row in zip(*cols, strict=True))


@dataclass(frozen=True)
class RunResult:
    plan_version: str
    payouts: Payouts
    skips: Skips
    pv: I64
    gv: I64
    active: Bools
    paid_as: I64  # rank index, -1 none
    title: I64  # rank index, -1 none
    total_cv: int
    cap_limit: int | None
    cap_applied: bool
    active_customers: I64  # customers who ordered (net of refunds), by owner
    customer_volume: I64  # net QV of customers' purchases, by owner
    extra: dict[str, int] = field(default_factory=dict)
    #: The rank each member's volumes qualified for this period, before the rules over time
    #: (``min_periods``, ``[paid_as]``); equal to ``paid_as`` without them. None: not known.
    qualified: I64 | None = None
    #: What bonus types carry to the next period (e.g. binary leg volume), by name.
    carry: dict[str, I64] = field(default_factory=dict)
    #: The payout lines the compliance rule withheld, as they would have been paid (None:
    #: not known).
    withheld: Payouts | None = None


def capped_codes(plan: Plan) -> list[int]:
    """Payout line codes under the global cap: every line of each bonus type it names
    (``stair_step`` covers its generation overrides)."""
    if plan.cap is None:
        return []
    return plan.bonuses.registry.codes_of(plan.cap.bonuses)


def sort_payouts(columns: dict[str, I64]) -> Payouts:
    """Lines ordered by (earner, bonus, source kind, source, level): one packed integer key
    sorted once when the values fit in 63 bits, else a lexicographic sort."""
    keys = [columns[k] for k in ("earner", "bonus", "source_kind", "source", "level")]
    widths = [int(k.max(initial=0)) + 1 for k in keys]
    if all(int(k.min(initial=0)) >= 0 for k in keys) and np.prod(widths, dtype=float) < 2**62:
        packed = np.zeros(keys[0].shape[0], dtype=np.int64)
        for k, w in zip(keys, widths, strict=True):
            packed = packed * w + k
        order = np.argsort(packed, kind="stable")
    else:
        order = np.lexsort(tuple(reversed(keys)))
    return Payouts(**{k: np.asarray(v, dtype=np.int64)[order] for k, v in columns.items()})


def empty_skips() -> Skips:
    z = np.zeros(0, dtype=np.int64)
    return Skips(z, z, z, z, z, z, z)
