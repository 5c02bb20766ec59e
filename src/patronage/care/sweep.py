"""No touch stays planned past its window: each becomes sent, done, expired or dropped.

A delivery run ends with :func:`close_passed`. What is still *planned* once its window closed:

- an email, a card or a text due more than the rules' ``lookback_days`` before the run is
  *dropped* as ``late: not delivered in its window (due ...)`` — an email, a text or a mailed
  card already tried in time is left to its retries (it ends sent or failed), and a card
  already in a print batch to the batch; a text waits for a text provider only that long;
- a personal task (call, note) is *expired*: a birthday or holiday call ``occasion_grace_days``
  after its day (as Today does), any other task :data:`TASK_WINDOW` after it fell due.

Nothing else changes; running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import not_, update
from sqlalchemy.orm import Session

from patronage.care.core.occasions import CALENDAR
from patronage.care.core.rules import Rules
from patronage.care.today import EXPIRED
from patronage.clock import require_aware
from patronage.db.care import Touch
from patronage.integrity import TASK_WINDOW_DAYS

#: How long a task that is not about a day (a check-in, a payment problem) stays on the list
#: (``patronage check`` finds one planned longer).
TASK_WINDOW = timedelta(days=TASK_WINDOW_DAYS)
TIMED = ("email", "card", "sms")
LATE = "late: not delivered in its window"
TASK_EXPIRED = "expired: not done within 30 days"


@dataclass(frozen=True)
class Closed:
    dropped: int
    expired: int

    def as_dict(self) -> dict[str, int]:
        return {"dropped late": self.dropped, "expired": self.expired}


def windows(rules: Rules, grace_days: int) -> tuple[timedelta, timedelta, timedelta]:
    """How long after its due time a touch may stay planned: timed channels, tasks about a
    day, other tasks."""
    return timedelta(days=rules.settings.lookback_days), timedelta(days=grace_days), TASK_WINDOW


def close_passed(session: Session, now: datetime, rules: Rules, *, grace_days: int) -> Closed:
    """Close every planned touch whose window passed (see the module's description)."""
    require_aware(now, place="now")
    timed, personal, other = windows(rules, grace_days)
    planned = Touch.status == "planned"
    dropped = session.execute(
        update(Touch).where(
            planned, Touch.channel.in_(TIMED), Touch.due_at < now - timed,
            Touch.card_batch_id.is_(None), Touch.attempts == 0)
        .values(status="dropped", drop_reason=LATE)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    day = Touch.occasion.in_(CALENDAR)
    expired = 0
    for which, window, reason in ((day, personal, EXPIRED), (not_(day), other, TASK_EXPIRED)):
        expired += session.execute(
            update(Touch).where(planned, Touch.channel == "task", which,
                                Touch.due_at < now - window)
            .values(status="expired", drop_reason=reason)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return Closed(int(dropped), int(expired))
