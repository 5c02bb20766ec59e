"""Exchange rates: imported from a CSV file or taken from a source the company configures, and
the rates a period uses.

A rate says how many units of the company (plan) currency one unit of a currency buys on a day,
kept exactly as an integer × 10⁹ (:mod:`patronage.markets.core.conversion`). A period uses, for each
currency it needs, the latest rate dated on or before the period's last day; a commission run
freezes those rates with it.

CSV import (``patronage rates import FILE``): a header ``day,currency,rate`` and one row per
rate (``2026-09-30,CAD,0.7312``). Every row is checked before anything is written: a bad day,
an unknown currency, the company currency itself, a rate that is not a positive decimal of at
most 9 places or a day and currency given twice refuse the whole file, naming each line. A rate
already stored for a day and currency is replaced.

A *source* is any object with a ``rates(day, currencies, base)`` method returning decimal texts
by currency (see :class:`RateSource`): a bank's feed, a treasury spreadsheet. Patronage makes
no network call of its own; :func:`record_from_source` stores what the source gives, checked as
an import is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.db.markets import ExchangeRate, Market
from patronage.errors import PatronageError, Problem, Problems
from patronage.markets.core.conversion import Rates, parse_rate
from patronage.markets.core.currencies import check_currency


class RateSource(Protocol):
    """A company-configured source of exchange rates."""

    def rates(self, day: date, currencies: Sequence[str], base: str) -> Mapping[str, str]:
        """Units of ``base`` one unit of each currency buys on ``day``, as decimal texts."""
        ...


def _parse_rows(rows: Iterable[tuple[str, str, str, str]], base: str) -> tuple[
        list[tuple[date, str, int]], list[Problem]]:
    parsed: list[tuple[date, str, int]] = []
    problems: list[Problem] = []
    seen: dict[tuple[date, str], str] = {}
    for place, day_text, currency_text, rate_text in rows:
        try:
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            problems.append(Problem(place, f"day {day_text!r} is not a date (YYYY-MM-DD)"))
            continue
        try:
            currency = check_currency(currency_text, place="currency")
            if currency == base:
                raise PatronageError(f"currency: {currency} is the company currency (its rate "
                                     "is 1)")
            rate = parse_rate(rate_text)
        except PatronageError as exc:
            problems.append(Problem(place, exc.message))
            continue
        if (day, currency) in seen:
            problems.append(Problem(place, f"{currency} on {day} is also at "
                                           f"{seen[(day, currency)]}"))
            continue
        seen[(day, currency)] = place
        parsed.append((day, currency, rate))
    return parsed, problems


def _store(session: Session, rows: list[tuple[date, str, int]], source: str,
           now: datetime) -> int:
    for day, currency, rate in rows:
        found = session.scalar(select(ExchangeRate).where(ExchangeRate.day == day,
                                                          ExchangeRate.currency == currency))
        if found is None:
            session.add(ExchangeRate(day=day, currency=currency, rate=rate, source=source,
                                     recorded_at=now))
        else:
            found.rate, found.source, found.recorded_at = rate, source, now
    session.flush()
    return len(rows)


def import_rates(session: Session, text: str, *, name: str, base: str, now: datetime) -> int:
    """Store every rate of a CSV text (all or nothing); the number of rates stored."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header != ["day", "currency", "rate"]:
        raise Problems(f"{name}: not a rates file",
                       [Problem(f"{name}:1", "the header must be day,currency,rate")])
    rows: list[tuple[str, str, str, str]] = []
    problems: list[Problem] = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            problems.append(Problem(f"{name}:{number}", f"{len(row)} cells, expected 3"))
            continue
        rows.append((f"{name}:{number}", row[0], row[1], row[2]))
    parsed, more = _parse_rows(rows, base)
    problems += more
    if problems:
        raise Problems(f"{name}: no rate imported", problems)
    if not parsed:
        raise Problems(f"{name}: no rate imported", [Problem(name, "the file holds no rate")])
    return _store(session, parsed, f"file {name}"[:100], now)


def record_from_source(session: Session, source: RateSource, name: str, day: date,
                       currencies: Sequence[str], *, base: str, now: datetime) -> int:
    """Ask the source for the day's rates of ``currencies`` and store them (all or nothing)."""
    given = source.rates(day, list(currencies), base)
    missing = sorted(set(currencies) - set(given) - {base})
    rows = [(f"{name} {c}", day.isoformat(), c, given[c]) for c in sorted(given)]
    parsed, problems = _parse_rows(rows, base)
    problems += [Problem(f"{name} {c}", "the source gave no rate") for c in missing]
    if problems:
        raise Problems(f"rate source {name}: no rate recorded", problems)
    return _store(session, parsed, f"source {name}"[:100], now)


def market_currencies(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(Market.currency))))


def rates_on(session: Session, currencies: Iterable[str], day: date, *, base: str,
             place: str) -> tuple[Rates, dict[str, date]]:
    """The latest rate on or before ``day`` of each currency into ``base``, and its date;
    refused, naming ``place`` and every currency without one."""
    wanted = sorted(set(currencies) - {base})
    found: dict[str, int] = {}
    days: dict[str, date] = {}
    for currency in wanted:
        latest = session.scalar(select(func.max(ExchangeRate.day)).where(
            ExchangeRate.currency == currency, ExchangeRate.day <= day))
        if latest is None:
            continue
        rate = session.scalar(select(ExchangeRate.rate).where(
            ExchangeRate.currency == currency, ExchangeRate.day == latest))
        assert rate is not None
        found[currency], days[currency] = int(rate), latest
    missing = [c for c in wanted if c not in found]
    if missing:
        raise PatronageError(
            f"{place}: no exchange rate into {base} on or before {day} for "
            f"{', '.join(missing)}; import them with `patronage rates import FILE`")
    return Rates(base, found), days
