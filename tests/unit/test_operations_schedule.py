"""Schedule slots: daily ones at a local time of the company's zone (across daylight saving
changes), repeating ones on multiples of their minutes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from patronage.errors import PatronageError
from patronage.operations.locks import advisory_key
from patronage.operations.logs import accept_request_id
from patronage.operations.schedule import Daily, Every, latest_slot

CHICAGO = ZoneInfo("America/Chicago")


def test_daily_slots_follow_the_local_time() -> None:
    six = Daily(time(6, 0))
    # Winter (UTC-6): 06:00 is 12:00 UTC; before it, yesterday's slot.
    assert latest_slot(six, datetime(2026, 12, 7, 12, 0, tzinfo=UTC), CHICAGO) == datetime(
        2026, 12, 7, 12, 0, tzinfo=UTC)
    assert latest_slot(six, datetime(2026, 12, 7, 11, 59, tzinfo=UTC), CHICAGO) == datetime(
        2026, 12, 6, 12, 0, tzinfo=UTC)
    # Summer (UTC-5): the same 06:00 is 11:00 UTC.
    assert latest_slot(six, datetime(2026, 7, 1, 11, 30, tzinfo=UTC), CHICAGO) == datetime(
        2026, 7, 1, 11, 0, tzinfo=UTC)
    # The day after the spring change: one slot a local day still.
    assert latest_slot(six, datetime(2026, 3, 9, 11, 0, tzinfo=UTC), CHICAGO) == datetime(
        2026, 3, 9, 11, 0, tzinfo=UTC)


def test_repeating_slots() -> None:
    assert latest_slot(Every(5), datetime(2026, 12, 7, 10, 7, 59, tzinfo=UTC), CHICAGO) == \
        datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    with pytest.raises(PatronageError, match="does not divide a day"):
        Every(7)
    with pytest.raises(PatronageError, match="now"):
        latest_slot(Every(5), datetime(2026, 12, 7, 10, 7), CHICAGO)


def test_keys_and_ids() -> None:
    assert advisory_key("autoship-run") == advisory_key("autoship-run")
    assert advisory_key("autoship-run") != advisory_key("care-tick")
    assert -(2**63) <= advisory_key("x") < 2**63
    assert accept_request_id("abc-1.2:3") == "abc-1.2:3"
    assert accept_request_id("x" * 129) != "x" * 129
    assert len(accept_request_id(None)) == 32
