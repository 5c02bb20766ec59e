"""Autoship schedule rules."""

from __future__ import annotations

from datetime import date

import pytest

from patronage.autoship.schedule import Frequency, first_run, next_run, retry_dates
from patronage.errors import PatronageError

MONTHLY_31 = Frequency("monthly", day=31)


def test_month_end_runs_move_to_the_markets_last_day() -> None:
    assert next_run(date(2026, 1, 15), MONTHLY_31, "US") == date(2026, 1, 28)
    assert next_run(date(2026, 1, 15), MONTHLY_31, "DE") == date(2026, 1, 31)
    assert next_run(date(2026, 1, 31), MONTHLY_31, "DE") == date(2026, 2, 28)
    assert next_run(date(2028, 1, 31), MONTHLY_31, "DE") == date(2028, 2, 29)
    assert next_run(date(2026, 12, 28), MONTHLY_31, "US") == date(2027, 1, 28)


def test_every_n_weeks_and_first_runs() -> None:
    assert next_run(date(2026, 3, 1), Frequency("weeks", weeks=2), None) == date(2026, 3, 15)
    assert first_run(date(2026, 3, 10), Frequency("monthly", day=10), "US") == date(2026, 3, 10)
    assert first_run(date(2026, 3, 11), Frequency("monthly", day=10), "US") == date(2026, 4, 10)


def test_retry_schedule_and_bad_input() -> None:
    assert retry_dates(date(2026, 3, 1), (1, 3, 7)) == [date(2026, 3, 2), date(2026, 3, 4),
                                                       date(2026, 3, 8)]
    with pytest.raises(PatronageError, match="increasing positive days"):
        retry_dates(date(2026, 3, 1), (3, 1))
    with pytest.raises(PatronageError, match="day of month: 32"):
        Frequency("monthly", day=32)
