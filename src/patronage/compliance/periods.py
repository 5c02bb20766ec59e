"""Which committed runs a compliance figure reads: one period, a rolling twelve months, a year."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from patronage.clock import Period
from patronage.db.compensation import CommissionRun
from patronage.errors import NotFound


@dataclass(frozen=True)
class CommittedRun:
    id: int
    period: Period
    plan_text: str
    volume_mix: bool


def committed_runs(conn: Connection, first: Period, last: Period) -> list[CommittedRun]:
    """The committed runs of the periods ``first..last`` (inclusive), oldest first."""
    rows = conn.execute(
        select(CommissionRun.id, CommissionRun.period, CommissionRun.plan_text,
               CommissionRun.volume_mix)
        .where(CommissionRun.period >= str(first), CommissionRun.period <= str(last),
               CommissionRun.calendar == "month")
        .order_by(CommissionRun.period)).all()
    return [CommittedRun(r.id, Period.parse(r.period), r.plan_text, bool(r.volume_mix))
            for r in rows]


def latest_committed(conn: Connection) -> Period | None:
    row = conn.execute(select(CommissionRun.period).where(CommissionRun.calendar == "month")
                       .order_by(CommissionRun.period.desc())
                       .limit(1)).scalar()
    return Period.parse(row) if row else None


def rolling_year(last: Period) -> tuple[Period, Period]:
    """The twelve periods ending with ``last``."""
    first = last
    for _ in range(11):
        first = first.previous()
    return first, last


def require_runs(runs: list[CommittedRun], what: str) -> list[CommittedRun]:
    if not runs:
        raise NotFound(f"{what}: no committed period (commit a month first: "
                             "patronage commissions commit)")
    return runs
