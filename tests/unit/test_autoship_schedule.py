"""Autoship schedule rules."""

from __future__ import annotations

from datetime import date

import pytest

from patronage.autoship.core.schedule import Frequency, first_run, next_run, retry_dates
from patronage.errors import PatronageError

MONTHLY_31 = Frequency("monthly", day=31)
#: The markets' last allowed days (the markets table gives them; here the US runs by the 28th).
LAST_DAYS = {"US": 28}


def test_month_end_runs_move_to_the_markets_last_day() -> None:
    assert next_run(date(2026, 1, 15), MONTHLY_31, "US", LAST_DAYS) == date(2026, 1, 28)
    assert next_run(date(2026, 1, 15), MONTHLY_31, "DE") == date(2026, 1, 31)
    assert next_run(date(2026, 1, 31), MONTHLY_31, "DE") == date(2026, 2, 28)
    assert next_run(date(2028, 1, 31), MONTHLY_31, "DE") == date(2028, 2, 29)
    assert next_run(date(2026, 12, 28), MONTHLY_31, "US", LAST_DAYS) == date(2027, 1, 28)


def test_every_n_weeks_and_first_runs() -> None:
    assert next_run(date(2026, 3, 1), Frequency("weeks", weeks=2), None) == date(2026, 3, 15)
    tenth = Frequency("monthly", day=10)
    assert first_run(date(2026, 3, 10), tenth, "US", LAST_DAYS) == date(2026, 3, 10)
    assert first_run(date(2026, 3, 11), tenth, "US", LAST_DAYS) == date(2026, 4, 10)


def test_retry_schedule_and_bad_input() -> None:
    assert retry_dates(date(2026, 3, 1), (1, 3, 7)) == [date(2026, 3, 2), date(2026, 3, 4),
                                                       date(2026, 3, 8)]
    with pytest.raises(PatronageError, match="increasing positive days"):
        retry_dates(date(2026, 3, 1), (3, 1))
    with pytest.raises(PatronageError, match="day of month: 32"):
        Frequency("monthly", day=32)


def test_one_cycle_after_a_delivery() -> None:
    from patronage.autoship.core.schedule import one_cycle_after

    assert one_cycle_after(date(2026, 12, 2), Frequency("monthly", 2)) == date(2027, 1, 2)
    assert one_cycle_after(date(2027, 1, 31), MONTHLY_31) == date(2027, 2, 28)
    assert one_cycle_after(date(2027, 1, 31), Frequency("weeks", weeks=2)) == date(2027, 2, 14)


def test_after_a_run_the_next_cycle_is_after_the_run_day() -> None:
    from patronage.autoship.core.schedule import next_after_run

    monthly = Frequency("monthly", 2)
    for cycle, day, then in ((date(2026, 12, 2), date(2026, 12, 2), date(2027, 1, 2)),
                             (date(1900, 1, 1), date(2026, 12, 2), date(2027, 1, 2)),
                             (date(2026, 11, 2), date(2026, 12, 1), date(2026, 12, 2))):
        assert next_after_run(cycle, day, monthly, "US", LAST_DAYS) == then
    weekly = Frequency("weeks", weeks=1)
    assert next_after_run(date(2026, 11, 2), date(2026, 11, 20), weekly, None) == date(2026, 11, 23)


def test_a_change_of_day_keeps_a_skip_and_a_month_since_the_last_delivery() -> None:
    from patronage.autoship.core.schedule import Plan, change_day, skip

    plan = Plan(Frequency("monthly", 2), "US", date(2027, 1, 2), last_delivery=date(2026, 12, 2),
                last_days=LAST_DAYS)
    today = date(2026, 12, 5)
    assert change_day(skip(plan), 15, today).next_run == date(2027, 2, 15)
    assert change_day(plan, 15, today).next_run == date(2027, 1, 15)
    assert change_day(plan, 1, today).next_run == date(2027, 2, 1)
    assert change_day(plan, 31, today).next_run == date(2027, 1, 28)  # the US cap
