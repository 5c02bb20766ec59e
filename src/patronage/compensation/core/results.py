"""What a period run produces: payout lines, ranks, and the reasons for every payment not made.

Both engines (:mod:`.reference` and :mod:`.engine`) return a :class:`RunResult`; the property
tests hold them equal field by field. Members are genealogy indexes here; the run service turns
them into member ids and names.

Semantics shared by both engines (the README's "Compensation plans" section says the same):

- *Net volume*: refunds recorded in the period against orders of the same period reduce those
  lines before anything is computed; refunds of earlier periods' orders reduce the period's PV
  (the volume leaves the refund period) and are clawed back at the original rates by the run
  service, never through the bonus bases.
- *PV* of a distributor: QV of their own purchases, plus their customers' purchases when the plan
  says so. *Active*: in good standing with PV ≥ the plan's minimum. *GV*: PV of the whole
  sponsor subtree. A leg contributes at most ``floor(leg_cap × min_gv)`` to a rank's GV.
- *Amounts*: ``volume × rate``, rounded half away from zero, once per payout line (1 point of
  volume = 1 unit of currency). A global cap scales the capped bonuses' lines down
  proportionally, rounding toward zero so the cap is never exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from patronage.compensation.core.plan import Plan

I64 = npt.NDArray[np.int64]

BONUSES = ("retail_profit", "fast_start", "unilevel", "customer_acquisition", "customer_referral",
           "stair_step", "generation")
BONUS_CODE = {b: i for i, b in enumerate(BONUSES)}
#: What a payout line's ``source`` is: an order id, or a member index.
SOURCE_ORDER, SOURCE_MEMBER = 0, 1
SOURCE_KINDS = ("order", "member")  # by those numbers

#: Why a payment was not made to the member who would have had it.
REASON_NOT_IN_STANDING = 1  # status is not active (inactive, terminated, erased)
REASON_INACTIVE = 2  # PV below the active minimum
REASON_RANK_DEPTH = 3  # paid-as rank does not pay this deep
REASON_NO_UPLINE = 4  # nobody above qualifies
REASON_NOT_DISTRIBUTOR = 5
REASON_NOT_BROKEN_AWAY = 6  # holds the breakaway title but is not paid as that rank now
REASONS = {
    REASON_NOT_BROKEN_AWAY: "not paid as the breakaway rank this period",
    REASON_NOT_IN_STANDING: "not in good standing",
    REASON_INACTIVE: "inactive",
    REASON_RANK_DEPTH: "paid-as rank does not pay this level",
    REASON_NO_UPLINE: "no qualified upline",
    REASON_NOT_DISTRIBUTOR: "not a distributor",
}


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
    active: npt.NDArray[np.bool_]
    paid_as: I64  # rank index, -1 none
    title: I64  # rank index, -1 none
    total_cv: int
    cap_limit: int | None
    cap_applied: bool
    active_customers: I64  # customers who ordered (net of refunds), by owner
    customer_volume: I64  # net QV of customers' purchases, by owner
    extra: dict[str, int] = field(default_factory=dict)


def capped_codes(plan: Plan) -> list[int]:
    """Bonus codes under the global cap (``stair_step`` covers its generation overrides)."""
    if plan.cap is None:
        return []
    codes = [BONUS_CODE[b] for b in plan.cap.bonuses]
    if "stair_step" in plan.cap.bonuses:
        codes.append(BONUS_CODE["generation"])
    return codes


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
