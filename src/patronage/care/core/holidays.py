"""Holidays: fixed dates and dates that move every year by a rule.

A holiday is written one of three ways:

- a fixed date, ``"12-25"`` (month-day);
- a weekday of a month, ``"4th thursday of november"``, ``"2nd sunday of may"``,
  ``"last monday of may"``;
- Easter (Western, by the Gregorian computus) with an optional offset in days, ``"easter"``,
  ``"easter-2"`` (Good Friday), ``"easter+49"`` (Pentecost).

:func:`parse_holiday` refuses anything else with the reason; :meth:`HolidayRule.on` gives the
date in a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4,
             "fourth": 4, "5th": 5, "fifth": 5, "last": -1}

_FIXED = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_NTH = re.compile(r"^(\w+)\s+(\w+)\s+of\s+(\w+)$")
_EASTER = re.compile(r"^easter\s*(?:([+-])\s*(\d{1,3}))?$")


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1..5, or -1 for the last) ``weekday`` (0 = Monday) of a month."""
    if nth == -1:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    if day.month != month:
        raise ValueError(f"there is no {nth}th {WEEKDAYS[weekday]} in {MONTHS[month - 1]} {year}")
    return day


@dataclass(frozen=True)
class HolidayRule:
    """When a holiday falls: ``kind`` is ``fixed`` (month, day), ``nth`` (month, weekday, nth)
    or ``easter`` (offset days)."""

    kind: str
    month: int = 0
    day: int = 0
    weekday: int = 0
    nth: int = 0
    offset: int = 0

    def on(self, year: int) -> date | None:
        """The holiday's date in ``year`` (None for a February 29 in a year without one, or a
        fifth weekday a month does not have)."""
        if self.kind == "fixed":
            try:
                return date(year, self.month, self.day)
            except ValueError:
                return None
        if self.kind == "nth":
            try:
                return nth_weekday(year, self.month, self.weekday, self.nth)
            except ValueError:
                return None
        return easter(year) + timedelta(days=self.offset)


def parse_holiday(text: str) -> HolidayRule:
    """A holiday rule from its written form; ``ValueError`` names what is wrong."""
    spec = " ".join(text.strip().lower().split())
    m = _FIXED.match(spec)
    if m:
        month, day = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r}: month {month} is not 1..12")
        try:
            date(2000, month, day)  # a leap year: 02-29 is allowed
        except ValueError:
            raise ValueError(f"{text!r}: {MONTHS[month - 1]} has no day {day}") from None
        return HolidayRule("fixed", month=month, day=day)
    m = _EASTER.match(spec)
    if m:
        offset = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        return HolidayRule("easter", offset=offset)
    m = _NTH.match(spec)
    if m:
        nth_word, weekday_word, month_word = m.groups()
        if nth_word not in _ORDINALS:
            raise ValueError(f"{text!r}: {nth_word!r} is not one of "
                             f"{', '.join(_ORDINALS)}")
        if weekday_word not in WEEKDAYS:
            raise ValueError(f"{text!r}: {weekday_word!r} is not a weekday")
        if month_word not in MONTHS:
            raise ValueError(f"{text!r}: {month_word!r} is not a month")
        return HolidayRule("nth", month=MONTHS.index(month_word) + 1,
                           weekday=WEEKDAYS.index(weekday_word), nth=_ORDINALS[nth_word])
    raise ValueError(f"{text!r} is not a holiday date: write \"MM-DD\", \"4th thursday of "
                     "november\", \"last monday of may\" or \"easter\" (\"easter+1\")")
