"""What a delivery run records when a touch does not go out: late, or failed with a reason.

A touch due more than the rules' ``lookback_days`` before a run (the window a tick catches up
on) is *dropped* as late, on every channel that is delivered at a time (email, printed cards):
a birthday card a fortnight after the birthday is worse than none. Personal tasks have no such
window: they stay on the distributor's list, overdue.

A failure is recorded naming the member ("member 123: email address is not valid: ...").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from patronage.care.core.rules import Rules, load_rules
from patronage.errors import PatronageError


def late_window(rules: Rules | None = None) -> timedelta:
    """How long after its due time a touch may still go out: the rules' ``lookback_days``."""
    return timedelta(days=(rules or load_rules()).settings.lookback_days)


def lateness(due_at: datetime, now: datetime, window: timedelta) -> str | None:
    """The drop reason of a touch due more than ``window`` before ``now``, or ``None``."""
    if due_at < now - window:
        return (f"late: due {due_at.isoformat()}, more than {window.days} day"
                f"{'s' if window.days != 1 else ''} before this run")
    return None


def failure_text(member_id: int, exc: BaseException) -> str:
    """A failure's reason, naming the member: ``member 123: ValueError: ...``."""
    reason = str(exc) if isinstance(exc, PatronageError) else f"{type(exc).__name__}: {exc}"
    return f"member {member_id}: {reason}"[:500]
