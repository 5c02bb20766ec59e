"""When autoship runs: schedule rules as pure functions of dates (no database, no clock).

- *Monthly on a day of month*: the run falls on that day, moved earlier to the market's last
  allowed day (e.g. runs on the 29th–31st move to the 28th in markets that say so) and to the last
  day of short months. The last allowed days come from the markets' data
  (:func:`patronage.markets.markets.autoship_last_days`), passed in as ``last_days`` by market
  code; a market not in it runs on any day.
- *Every N weeks*: the run falls N×7 days after the previous one.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from patronage.errors import N_, Conflict, PatronageError

#: Latest day of month an autoship may run on, by market code (from the markets' data).
LastDays = Mapping[str, int]


#: How a subscription recurs: monthly on a day, or every N weeks.
FREQUENCY_KINDS = ("monthly", "weeks")


@dataclass(frozen=True)
class Frequency:
    """``monthly`` on ``day`` (1–31), or every ``weeks`` weeks."""

    kind: str
    day: int = 1
    weeks: int = 4

    def __post_init__(self) -> None:
        if self.kind not in FREQUENCY_KINDS:
            raise PatronageError(N_("frequency: %(kind)r is not monthly or weeks"),
                                 values={"kind": self.kind})
        if self.kind == "monthly" and not 1 <= self.day <= 31:
            raise PatronageError(N_("day of month: %(day)s is not between 1 and 31"),
                                 values={"day": self.day})
        if self.kind == "weeks" and not 1 <= self.weeks <= 26:
            raise PatronageError(N_("every N weeks: %(weeks)s is not between 1 and 26"),
                                 values={"weeks": self.weeks})


def run_day_in_month(year: int, month: int, day: int, market: str | None,
                     rules: LastDays | None = None) -> date:
    """The date a monthly run on ``day`` falls on in that month and market."""
    last_allowed = (rules or {}).get(market or "", 31)
    last_of_month = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last_allowed, last_of_month))


def next_run(after: date, frequency: Frequency, market: str | None,
             rules: LastDays | None = None) -> date:
    """The first run strictly after ``after``."""
    if frequency.kind == "weeks":
        return after + timedelta(weeks=frequency.weeks)
    year, month = after.year, after.month
    candidate = run_day_in_month(year, month, frequency.day, market, rules)
    if candidate > after:
        return candidate
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return run_day_in_month(year, month, frequency.day, market, rules)


def first_run(on_or_after: date, frequency: Frequency, market: str | None,
              rules: LastDays | None = None) -> date:
    """The first run on or after a date (a new subscription, the end of a pause)."""
    return next_run(on_or_after - timedelta(days=1), frequency, market, rules) \
        if frequency.kind == "monthly" else on_or_after


def retry_dates(failed_on: date, retry_days: tuple[int, ...]) -> list[date]:
    """Dunning: the retry dates after a failed charge (days counted from the first failure)."""
    if any(d <= 0 for d in retry_days) or list(retry_days) != sorted(set(retry_days)):
        raise PatronageError(N_("retry schedule: %(retry_days)s must be increasing positive days"),
                             values={"retry_days": retry_days})
    return [failed_on + timedelta(days=d) for d in retry_days]


def one_cycle_after(last: date, frequency: Frequency) -> date:
    """The earliest day a delivery may follow one made on ``last``: ``weeks`` × 7 days later, or
    the same day of the next month (the month's last day when it is shorter)."""
    if frequency.kind == "weeks":
        return last + timedelta(weeks=frequency.weeks)
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    return date(year, month, min(last.day, calendar.monthrange(year, month)[1]))


def next_after_run(cycle: date, day: date, frequency: Frequency, market: str | None,
                   rules: LastDays | None = None) -> date:
    """Where a subscription charged for ``cycle`` on run ``day`` goes next: the next cycle, or,
    when the cycle was overdue by more than a cycle, the first cycle strictly after ``day`` (the
    missed cycles are never charged)."""
    following = next_run(cycle, frequency, market, rules)
    if following > day:
        return following
    if frequency.kind == "weeks":
        step = 7 * frequency.weeks
        return cycle + timedelta(days=((day - cycle).days // step + 1) * step)
    return next_run(day, frequency, market, rules)


@dataclass(frozen=True)
class Plan:
    """A subscription's schedule as the customer's actions see it (no database, no clock):
    ``skipped`` is the run the last skip moved away from (what *undo skip* puts back), and
    ``last_delivery`` the cycle of the last order made."""

    frequency: Frequency
    market: str | None
    next_run: date
    status: str = "active"  # active | paused | suspended | cancelled
    paused_until: date | None = None
    skipped: date | None = None
    last_delivery: date | None = None
    #: The markets' last allowed days (:data:`LastDays`).
    last_days: LastDays = field(default_factory=dict)


def _tomorrow(today: date) -> date:
    return today + timedelta(days=1)


def skip(plan: Plan) -> Plan:
    """The next run is skipped: the one after it becomes the next."""
    return replace(plan, next_run=next_run(plan.next_run, plan.frequency, plan.market,
                                           plan.last_days),
                   skipped=plan.next_run)


def undo_skip(plan: Plan, today: date) -> Plan:
    """The skipped run is back, while it is still ahead (after today)."""
    if plan.skipped is None:
        raise Conflict(N_("undo skip: there is no skip to undo (a date change or a restart also "
                          "ends the chance to undo one)"), values={})
    if plan.skipped <= today:
        raise Conflict(N_("undo skip: the skipped run of %(skipped)s is not after today "
                          "(%(today)s); it can no longer be brought back"),
                       values={"skipped": plan.skipped, "today": today})
    return replace(plan, next_run=plan.skipped, skipped=None)


def change_day(plan: Plan, day: int, today: date) -> Plan:
    """Monthly on ``day`` from the next run on: the run moves to that day in the month of the
    current next run (so a skip stays skipped), unless that is closer than a month to the last
    delivery, on or before today, or on or before a skipped run; then it is the first such day
    after all of those."""
    frequency = Frequency("monthly", day)
    candidate = run_day_in_month(plan.next_run.year, plan.next_run.month, day, plan.market,
                                 plan.last_days)
    floor = _tomorrow(today)
    if plan.last_delivery is not None:
        floor = max(floor, one_cycle_after(plan.last_delivery, frequency))
    if plan.skipped is not None:  # never on or before the run the customer skipped
        floor = max(floor, plan.skipped + timedelta(days=1))
    moved = candidate if candidate >= floor else first_run(floor, frequency, plan.market,
                                                           plan.last_days)
    return replace(plan, frequency=frequency, next_run=moved, skipped=None)


def pause(plan: Plan, until: date, today: date) -> Plan:
    if until <= today:
        raise PatronageError(N_("pause until: %(until)s is not in the future (today is "
                                "%(today)s)"),
                             values={"until": until, "today": today})
    return replace(plan, status="paused", paused_until=until)


def resume(plan: Plan, on: date) -> Plan:
    """Active again: the next run is the first on or after ``on``, and never earlier than the
    next run already planned (a pause inside the gap changes nothing; a skip stays skipped)."""
    if plan.status != "paused":
        raise Conflict(N_("resume: the autoship is %(status)s, not paused"),
                       values={"status": plan.status})
    return replace(plan, status="active", paused_until=None,
                   next_run=first_run(max(on, plan.next_run), plan.frequency, plan.market,
                                      plan.last_days))


def cancel(plan: Plan) -> Plan:
    return replace(plan, status="cancelled", paused_until=None, skipped=None)


def restart(plan: Plan, today: date) -> Plan:
    """Active again after a cancel: the first run after today, and never earlier than the run
    that was planned when it was cancelled."""
    if plan.status != "cancelled":
        raise Conflict(N_("restart: the autoship is %(status)s, not cancelled"),
                       values={"status": plan.status})
    return replace(plan, status="active", skipped=None, next_run=first_run(
        max(_tomorrow(today), plan.next_run), plan.frequency, plan.market, plan.last_days))
