"""Dunning: where each charged subscription goes after its charge, and the events that say so.

A pure function of the charges' answers: no database, no clock beyond the run's day.

- Approved: the subscription moves to its next cycle (:func:`~patronage.autoship.core.schedule.
  next_after_run`: never a cycle already past on the run day), failures reset; an approved
  retry (attempt 2 or later) is a *payment recovered*.
- Declined, with retries left: *payment failed*, then *retry scheduled* ``retry_days[attempt-1]``
  days after the cycle's date, but never before the day after the run (a run charges a
  subscription at most once a day).
- Declined on the last attempt: *payment failed*, then *suspended* (involuntary churn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from patronage.autoship.core.schedule import Frequency, next_after_run

#: Days after the cycle's date on which a declined charge is tried again, attempt by attempt.
RETRY_DAYS = (1, 3, 7)

#: The subscription columns a settlement sets, and the event columns it writes.
MOVE_COLUMNS = ("id", "status", "next_run", "retry_on", "failures", "churn")
EVENT_COLUMNS = ("subscription_id", "member_id", "kind", "detail")


@dataclass(frozen=True)
class Charged:
    """The charges of one batch, one entry per subscription: its id, member, cycle date (as
    ``date.toordinal``), attempt (1 for the first charge of the cycle), schedule (an index into
    ``shapes``: frequency and market) and answer (``declines[i]``: the reason, when declined)."""

    sub: Sequence[int]
    member: Sequence[int]
    cycle: Sequence[int]
    attempt: Sequence[int]
    shape: Sequence[int]
    shapes: Sequence[tuple[Frequency, str | None]]
    approved: Sequence[bool]
    declines: Sequence[str | None]
    #: The latest day of month an autoship may run on, by market (the markets' own rule).
    last_days: Mapping[str, int] | None = None


@dataclass
class Settlement:
    """Column lists for the subscriptions' updates and the events' rows, and the counts."""

    moves: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in MOVE_COLUMNS})
    events: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in EVENT_COLUMNS})
    recovered: int = 0
    suspended: int = 0


def retry_on(cycle: date, attempt: int, run_day: date,
             retry_days: tuple[int, ...] = RETRY_DAYS) -> date | None:
    """When failed ``attempt`` of ``cycle`` is tried again; ``None``: no retry left (suspend)."""
    if attempt > len(retry_days):
        return None
    return max(cycle + timedelta(days=retry_days[attempt - 1]), run_day + timedelta(days=1))


def settle(charged: Charged, run_day: date,
           retry_days: tuple[int, ...] = RETRY_DAYS) -> Settlement:
    """Where each subscription of ``charged`` goes next, and the events. Whatever happens, its
    next run or retry is after ``run_day``: a run never charges one subscription twice on a day,
    and an overdue subscription is charged once, never for the cycles it missed."""
    out = Settlement()
    moves, events = out.moves, out.events
    next_of: dict[tuple[int, int], str] = {}
    texts: dict[int, str] = {}

    def event(i: int, kind: str, detail: str) -> None:
        events["subscription_id"].append(charged.sub[i])
        events["member_id"].append(charged.member[i])
        events["kind"].append(kind)
        events["detail"].append(detail)

    for i, (ok, day, shape, attempt) in enumerate(zip(
            charged.approved, charged.cycle, charged.shape, charged.attempt, strict=True)):
        text = texts.get(day)
        if text is None:
            text = texts[day] = date.fromordinal(day).isoformat()
        moves["id"].append(charged.sub[i])
        if ok:
            if attempt > 1:
                event(i, "payment_recovered", f"cycle {text}, attempt {attempt}")
                out.recovered += 1
            nxt = next_of.get((day, shape))
            if nxt is None:
                frequency, market = charged.shapes[shape]
                nxt = next_of[(day, shape)] = next_after_run(
                    date.fromordinal(day), run_day, frequency, market,
                    charged.last_days).isoformat()
            moves["status"].append("active")
            moves["next_run"].append(nxt)
            moves["retry_on"].append(None)
            moves["failures"].append(0)
            moves["churn"].append(None)
            continue
        event(i, "payment_failed", f"cycle {text}, attempt {attempt}: {charged.declines[i]}")
        moves["next_run"].append(text)
        moves["failures"].append(attempt)
        retry = retry_on(date.fromordinal(day), attempt, run_day, retry_days)
        if retry is not None:
            event(i, "retry_scheduled", f"retry on {retry}")
            moves["status"].append("active")
            moves["retry_on"].append(retry.isoformat())
            moves["churn"].append(None)
        else:
            event(i, "suspended", f"involuntary: {attempt} failed charges for cycle {text}")
            moves["status"].append("suspended")
            moves["retry_on"].append(None)
            moves["churn"].append("involuntary")
            out.suspended += 1
    return out
