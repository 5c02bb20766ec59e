"""Time: clocks passed in as arguments, and calendar periods in the company's time zone.

Nothing deep inside Patronage reads the wall clock. Services take ``now`` (an aware datetime);
the CLI and web layer take it from a :class:`Clock`, which tests replace with :class:`FixedClock`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from patronage.errors import PatronageError

#: The company's time zone when the settings name none (``PATRONAGE_COMPANY_TIMEZONE``). Services
#: take the zone as an argument; this is only its default.
DEFAULT_COMPANY_ZONE = "America/Chicago"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told; ``advance`` moves it forward."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta


def zone(name: str, *, place: str = "time zone") -> ZoneInfo:
    """An IANA time zone, or a clear error naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PatronageError(f"{place}: {name!r} is not an IANA time zone") from exc


def require_aware(moment: datetime, *, place: str = "time") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PatronageError(f"{place}: {moment.isoformat()} has no time zone")
    return moment


def to_utc(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(UTC)


MIN_YEAR = 2000  # the first and last years a period (YYYY-MM) may name
MAX_YEAR = 2100
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, e.g. ``Period(2026, 10)`` written ``2026-10``."""

    year: int
    month: int

    #: The calendar a month belongs to (a :class:`Week` is of ``"week"``).
    calendar = "month"

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PERIOD.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise PatronageError(f"period: {text!r} is not a month written YYYY-MM")
        if not MIN_YEAR <= int(m.group(1)) <= MAX_YEAR:
            raise PatronageError(f"period: {text!r} is out of range; periods run from "
                                 f"{MIN_YEAR}-01 to {MAX_YEAR}-12")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def containing(cls, moment: datetime, tz: tzinfo) -> Period:
        local = require_aware(moment).astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def start(self, tz: tzinfo) -> datetime:
        """The first instant of the period in ``tz``, as UTC."""
        return datetime.combine(self.first_day(), time(0), tz).astimezone(UTC)

    def end(self, tz: tzinfo) -> datetime:
        """The first instant after the period in ``tz``, as UTC (exclusive bound)."""
        return self.next().start(tz)


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _weeks_in(year: int) -> int:
    """How many ISO weeks ``year`` has (52 or 53): the week holding 28 December is its last."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday to Sunday), e.g. ``Week(2026, 49)`` written ``2026-W49``: the
    period of bonuses paid by the week. Its year is the ISO year (the year of its Thursday)."""

    year: int
    week: int

    #: The calendar a week belongs to (a :class:`Period` is of ``"month"``).
    calendar = "week"

    @classmethod
    def parse(cls, text: str) -> Week:
        m = _WEEK.match(text.strip().upper())
        if not m:
            raise PatronageError(f"week: {text!r} is not a week written YYYY-Www (e.g. 2026-W49)")
        year, week = int(m.group(1)), int(m.group(2))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise PatronageError(f"week: {text!r} is out of range; weeks run from "
                                 f"{MIN_YEAR}-W01 to {MAX_YEAR}-W{_weeks_in(MAX_YEAR):02d}")
        if not 1 <= week <= _weeks_in(year):
            raise PatronageError(f"week: {text!r} does not exist; {year} has weeks W01 to "
                                 f"W{_weeks_in(year):02d}")
        return cls(year, week)

    @classmethod
    def containing(cls, moment: datetime, tz: tzinfo) -> Week:
        return cls.of_day(require_aware(moment).astimezone(tz).date())

    @classmethod
    def of_day(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    def next(self) -> Week:
        return Week.of_day(self.first_day() + timedelta(days=7))

    def previous(self) -> Week:
        return Week.of_day(self.first_day() - timedelta(days=7))

    def first_day(self) -> date:
        """Its Monday."""
        return date.fromisocalendar(self.year, self.week, 1)

    def last_day(self) -> date:
        """Its Sunday."""
        return self.first_day() + timedelta(days=6)

    def month(self) -> Period:
        """The month its Sunday is in: a week runs with the plan in force for that month."""
        day = self.last_day()
        return Period(day.year, day.month)

    def start(self, tz: tzinfo) -> datetime:
        """The first instant of the week (Monday 00:00) in ``tz``, as UTC."""
        return datetime.combine(self.first_day(), time(0), tz).astimezone(UTC)

    def end(self, tz: tzinfo) -> datetime:
        """The first instant after the week in ``tz``, as UTC (exclusive bound)."""
        return self.next().start(tz)


#: A period of either calendar: a month or an ISO week.
AnyPeriod = Period | Week


def parse_any_period(text: str) -> AnyPeriod:
    """A month (``YYYY-MM``) or an ISO week (``YYYY-Www``), each validated as its own kind."""
    return Week.parse(text) if "W" in text.upper() else Period.parse(text)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local calendar day, as UTC instants."""
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def period_bounds(period: Period | Week, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar month (or an ISO week) in ``tz``, as UTC instants."""
    return period.start(tz), period.end(tz)
