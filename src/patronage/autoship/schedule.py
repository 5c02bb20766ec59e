"""When autoship runs: schedule rules as pure functions of dates (no database, no clock).

- *Monthly on a day of month*: the run falls on that day, moved earlier to the market's last
  allowed day (e.g. runs on the 29th–31st move to the 28th in markets that say so) and to the last
  day of short months.
- *Every N weeks*: the run falls N×7 days after the previous one.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from patronage.errors import PatronageError

#: Latest day of month an autoship may run on, by market (country code); others: any day.
DEFAULT_MARKET_LAST_DAY = {"US": 28, "CA": 28, "GB": 28, "AU": 28}


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
            raise PatronageError(f"frequency: {self.kind!r} is not monthly or weeks")
        if self.kind == "monthly" and not 1 <= self.day <= 31:
            raise PatronageError(f"day of month: {self.day} is not between 1 and 31")
        if self.kind == "weeks" and not 1 <= self.weeks <= 26:
            raise PatronageError(f"every N weeks: {self.weeks} is not between 1 and 26")


def run_day_in_month(year: int, month: int, day: int, market: str | None,
                     rules: dict[str, int] | None = None) -> date:
    """The date a monthly run on ``day`` falls on in that month and market."""
    last_allowed = (rules if rules is not None else DEFAULT_MARKET_LAST_DAY).get(market or "", 31)
    last_of_month = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last_allowed, last_of_month))


def next_run(after: date, frequency: Frequency, market: str | None,
             rules: dict[str, int] | None = None) -> date:
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
              rules: dict[str, int] | None = None) -> date:
    """The first run on or after a date (a new subscription, the end of a pause)."""
    return next_run(on_or_after - timedelta(days=1), frequency, market, rules) \
        if frequency.kind == "monthly" else on_or_after


def retry_dates(failed_on: date, retry_days: tuple[int, ...]) -> list[date]:
    """Dunning: the retry dates after a failed charge (days counted from the first failure)."""
    if any(d <= 0 for d in retry_days) or list(retry_days) != sorted(set(retry_days)):
        raise PatronageError(f"retry schedule: {retry_days} must be increasing positive days")
    return [failed_on + timedelta(days=d) for d in retry_days]
