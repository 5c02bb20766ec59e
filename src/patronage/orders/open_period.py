"""When an order or a refund may be dated: in the open period, and not in the future.

Commissions are paid on the orders of a period when it is committed, once; an order dated into
a committed period would never be paid, and a refund dated there never clawed back. So:

- an order's ``placed_at`` (a refund's ``refunded_at``) lies on or after the start of the open
  period, the first period after the last committed one (in the company's time zone);
- with no period committed yet, history may be imported back to :data:`EARLIEST_HISTORY`
  (January 2000) and no further;
- and it is not later than ``now``, give or take :data:`CLOCK_SKEW` (a shop's clock a little
  ahead of ours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from patronage.clock import Period, Week, require_aware, zone
from patronage.db.compensation import CommissionRun
from patronage.errors import PatronageError

#: The earliest period an order may be dated in while no period is committed yet.
EARLIEST_HISTORY = Period(2000, 1)
#: How far ahead of ``now`` an order or a refund may be dated.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class OpenWindow:
    """The instants an order or a refund may be dated at, as of ``now``."""

    since: datetime
    now: datetime
    #: The last committed period: the month, or the week when that ends later.
    last_committed: Period | Week | None
    tz: ZoneInfo

    def problem(self, moment: datetime, noun: str = "orders") -> str | None:
        """Why ``moment`` may not be used (``None`` when it may)."""
        moment = require_aware(moment)
        stamp = moment.isoformat()
        if moment > self.now + CLOCK_SKEW:
            minutes = int(CLOCK_SKEW.total_seconds() // 60)
            return (f"{stamp} is in the future (now is {self.now.isoformat()}; at most "
                    f"{minutes} minutes ahead is accepted)")
        if moment >= self.since:
            return None
        opens = f"{self.since.astimezone(self.tz):%Y-%m-%d %H:%M} {self.tz.key}"
        if self.last_committed is None:
            return f"{stamp} is before {opens}, the earliest date an order may have"
        period = type(self.last_committed).containing(moment, self.tz)
        if period == self.last_committed:
            where = f"is in period {period}, which is committed"
        else:
            where = (f"is in period {period}, before {self.last_committed}, the last "
                     "committed period")
        return f"{stamp} {where}; {noun} are dated from {opens} on"

    def check(self, moment: datetime, *, what: str, noun: str = "orders") -> None:
        """Refuse ``moment``, naming ``what`` it is (``order 'k7': placed_at``)."""
        reason = self.problem(moment, noun)
        if reason is not None:
            raise PatronageError(f"{what} {reason}")


def open_window(session: Session, now: datetime, *, company_zone: str) -> OpenWindow:
    """Where the open period starts (after the last committed period, its months and weeks
    in ``company_zone``: whichever ends later), as of ``now``."""
    month, week = session.execute(select(last_committed_period("month"),
                                         last_committed_period("week"))).one()
    return window_after(month, week, now, company_zone=company_zone)


def last_committed_period(calendar: str = "month") -> ScalarSelect[str | None]:
    """The last committed period's name on ``calendar`` (``2026-10``, ``2026-W49``), as a
    query to read alone or inside another one."""
    return (select(func.max(CommissionRun.period))
            .where(CommissionRun.calendar == calendar).scalar_subquery())


def window_after(last_month: str | None, last_week: str | None, now: datetime, *,
                 company_zone: str) -> OpenWindow:
    """The open window when ``last_month`` and ``last_week`` (read with
    :func:`last_committed_period`) are the last committed month and week, as of ``now``: it
    starts where the later of the two ends."""
    require_aware(now, place="now")
    tz = zone(company_zone)
    committed: Period | Week | None = None
    for kind, last in ((Period, last_month), (Week, last_week)):
        if last and (committed is None or kind.parse(last).end(tz) > committed.end(tz)):
            committed = kind.parse(last)
    since = committed.end(tz) if committed else EARLIEST_HISTORY.start(tz)
    return OpenWindow(since, now, committed, tz)
