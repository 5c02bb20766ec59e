"""A committed period as it was locked: its figures and lines read from the store, never
computed again.

A run, preview or page asked about a committed period shows these (and says it is the committed
run N); explanations of a committed period cover every stored line, its clawbacks of earlier
periods' refunded orders included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from patronage.clock import AnyPeriod
from patronage.compensation.core.results import BONUSES, SOURCE_KINDS
from patronage.compensation.runs import Clawback
from patronage.db.compensation import CommissionRun, PayoutLine, PayoutSkip, RankRecord
from patronage.db.engine import transaction


@dataclass(frozen=True)
class LockedRun:
    """The stored figures of a committed period (amounts in minor units, volumes in
    hundredths of a point); ``payout_lines`` leaves out the ``clawbacks``."""

    run_id: int
    period: str
    plan_name: str
    plan_version: str
    committed_at: datetime
    committed_by: str
    total_cv: int
    total_paid: int
    cap_applied: bool
    by_bonus: dict[str, int]
    payout_lines: int
    clawbacks: int
    skips: int
    active_distributors: int


def locked_run(engine: Engine, period: AnyPeriod) -> LockedRun | None:
    """The committed run of ``period`` as stored, or None when the period is open."""
    with transaction(engine) as s:
        run = s.scalar(select(CommissionRun).where(CommissionRun.period == str(period)))
        if run is None:
            return None
        sums = dict(s.execute(select(PayoutLine.bonus, func.sum(PayoutLine.amount))
                              .where(PayoutLine.run_id == run.id)
                              .group_by(PayoutLine.bonus)).all())
        lines, clawbacks = s.execute(select(
            func.count(PayoutLine.id), func.count(PayoutLine.clawback_of))
            .where(PayoutLine.run_id == run.id)).one()
        skips = s.scalar(select(func.count()).select_from(PayoutSkip)
                         .where(PayoutSkip.run_id == run.id)) or 0
        active = s.scalar(select(func.count()).select_from(RankRecord)
                          .where(RankRecord.run_id == run.id, RankRecord.active)) or 0
        by_bonus = {b: int(sums[b]) for b in BONUSES if sums.get(b)}
        return LockedRun(run.id, run.period, run.plan_name, run.plan_version, run.committed_at,
                         run.committed_by, run.total_cv, run.total_paid, run.cap_applied,
                         by_bonus, int(lines) - int(clawbacks), int(clawbacks), int(skips),
                         int(active))


def stored_clawbacks(engine: Engine, run_id: int) -> list[Clawback]:
    """The clawback lines stored with a committed run, in the order they were written."""
    with transaction(engine) as s:
        rows = s.scalars(select(PayoutLine).where(PayoutLine.run_id == run_id,
                                                  PayoutLine.clawback_of.is_not(None))
                         .order_by(PayoutLine.id)).all()
        return [Clawback(r.earner_id, r.bonus, SOURCE_KINDS.index(r.source_kind), r.source_id,
                         r.level, r.volume, r.rate_bp, r.amount, int(r.clawback_of or 0))
                for r in rows]


def top_earners(engine: Engine, run_id: int, n: int = 10) -> list[tuple[int, int]]:
    """The ``n`` members paid most in a committed run (clawbacks taken off): (member id,
    amount), highest first."""
    total = func.sum(PayoutLine.amount)
    with transaction(engine) as s:
        rows = s.execute(select(PayoutLine.earner_id, total).where(PayoutLine.run_id == run_id)
                         .group_by(PayoutLine.earner_id)
                         .order_by(total.desc(), PayoutLine.earner_id).limit(n)).all()
    return [(int(m), int(a)) for m, a in rows if a > 0]
