"""Personal tasks for the owner distributor: the list, done, the calendar feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.care.tasks import ical_feed, mark_done, tasks_for
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.errors import Conflict
from patronage.orders.catalog import NewProduct, add_product
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 20, 13, 0, tzinfo=UTC)
SETTINGS = Settings()
pytestmark = pytest.mark.storage


def _setup(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        dana = distributor(s, timezone="America/Chicago")
        other = distributor(s, "Omar")
        sally = customer(s, dana)
        sam = customer(s, dana, "Sam", referrer_id=sally,
                       joined_at=datetime(2025, 3, 1, tzinfo=UTC))
        add_product(s, NewProduct("SHAKE", "Daily shake", 6000, 4500, 4000, 3600))
        subscribe(s, sally, [Item("SHAKE")], Frequency("monthly", 5),
                  start=datetime(2024, 8, 5).date(), now=datetime(2024, 8, 4, tzinfo=UTC),
                  actor="test")
        ids = {
            "dana": dana, "other": other, "sally": sally, "sam": sam,
            "birthday": touch(s, sally, dana, channel="task", template="birthday",
                              due_at=NOW - timedelta(hours=2)),
            "later": touch(s, sam, dana, channel="task", template="check_in",
                           due_at=NOW + timedelta(days=3)),
            "far": touch(s, sam, dana, channel="task", template="check_in",
                         occasion_key="far", due_at=NOW + timedelta(days=30)),
            "email": touch(s, sally, dana, channel="email", template="birthday",
                           due_at=NOW),
            "others": touch(s, sally, other, channel="task", template="check_in",
                            occasion_key="o", due_at=NOW),
        }
    return ids


def test_tasks_for_lists_due_and_upcoming_tasks_with_the_rendered_line(engine: Engine) -> None:
    ids = _setup(engine)
    with transaction(engine) as s:
        tasks = tasks_for(s, ids["dana"], NOW, days=7, settings=SETTINGS)
    assert [t.touch_id for t in tasks] == [ids["birthday"], ids["later"]]
    first = tasks[0]
    assert first.member_name == "Sally Smith" and first.overdue
    assert first.line == ("Call Sally Smith today: birthday; 26 months on autoship; "
                          "referred Sam")
    assert not tasks[1].overdue


def test_mark_done_records_who_and_when_and_refuses_other_owners_and_emails(
        engine: Engine) -> None:
    ids = _setup(engine)
    with transaction(engine) as s:
        with pytest.raises(Conflict, match="not a task of distributor"):
            mark_done(s, ids["birthday"], by=ids["other"], now=NOW)
        with pytest.raises(Conflict, match="email touch, not a task"):
            mark_done(s, ids["email"], by=ids["dana"], now=NOW)
        mark_done(s, ids["birthday"], by=ids["dana"], now=NOW)
        mark_done(s, ids["birthday"], by=ids["dana"], now=NOW + timedelta(hours=1))
    with transaction(engine) as s:
        row = s.get(Touch, ids["birthday"])
        assert row is not None
        assert (row.status, row.done_at, row.done_by) == ("done", NOW, f"member {ids['dana']}")
        later = tasks_for(s, ids["dana"], NOW, settings=SETTINGS)
        assert [t.touch_id for t in later] == [ids["later"]]


def test_ical_feed_parses_back_with_stable_uids_on_local_days(engine: Engine) -> None:
    ids = _setup(engine)
    with transaction(engine) as s:
        first = ical_feed(s, ids["dana"], NOW, settings=SETTINGS)
        again = ical_feed(s, ids["dana"], NOW + timedelta(minutes=5), settings=SETTINGS)
    events = [c for c in Calendar.from_ical(first).walk("VEVENT")]
    uids = [str(e["UID"]) for e in events]
    assert uids == [f"care-task-{ids[k]}@127.0.0.1" for k in ("birthday", "later", "far")]
    assert uids == [str(e["UID"]) for e in Calendar.from_ical(again).walk("VEVENT")]
    # 13:00 UTC is 08:00 in Chicago: the overdue birthday call is on today's local date.
    assert events[0]["DTSTART"].dt.isoformat() == "2026-10-20"
    assert str(events[0]["SUMMARY"]).startswith("Call Sally Smith today")
