"""Terminated members, contacts a distributor met, and the check-in spread: each checked on the
vectorised planner and the member-by-member reference (``plan`` asserts they agree)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from patronage.care.core.facts import (
    ALREADY,
    CAP,
    NO_OWNER,
    PLANNED,
    TERMINATED,
    Plan,
)
from patronage.care.core.occasions import key_num, key_text
from patronage.care.core.planner import plan_touches
from patronage.care.core.reference import plan_reference
from patronage.care.core.rules import Rules
from tests.unit.care.builders import Company
from tests.unit.care.test_planner import at, plan, rule, rules

NOW = "2026-11-26T12:00:00+00:00"


# -- 1. terminated members get no automated touches --------------------------------------------

def test_terminated_member_gets_no_touch_and_the_reason_is_recorded() -> None:
    c = Company()
    owner = c.add(kind=2)
    gone = c.add(owner=owner, birth_month=11, birth_day=26, terminated=True,
                 suppressed_email=True)
    active = c.add(owner=owner, birth_month=11, birth_day=26)
    r = rules(rule("bday", "birthday"), rule("call", "birthday", "task"))
    p = plan("2026-11-26T06:00:00+00:00", c, r)
    # Terminated is the first reason, before suppression; the active customer is unaffected.
    assert sorted((row[0], row[1], row[4]) for row in p.rows()) == [
        (0, gone, TERMINATED), (0, active, PLANNED), (1, gone, TERMINATED),
        (1, active, PLANNED)]


def test_terminated_member_gets_no_check_in_but_erased_gets_nothing_at_all() -> None:
    c = Company()
    c.add(joined_at="2026-08-28T06:00:00+00:00", terminated=True)  # 90 days ago: due now
    c.add(joined_at="2026-08-28T06:00:00+00:00", erased=True)
    c.add(joined_at="2026-08-28T06:00:00+00:00")
    r = rules(rule("check_in", "no_touch", "email", days=90))
    assert [(row[1], row[4]) for row in plan(NOW, c, r).rows()] == [(0, TERMINATED),
                                                                    (2, PLANNED)]


# -- 3. contacts a distributor met -------------------------------------------------------------

def test_contact_met_gives_the_owner_a_task_once_per_contact() -> None:
    c = Company()
    owner = c.add(kind=2)
    customer = c.add(owner=owner, joined_at="2025-01-01T00:00:00+00:00")
    other = c.add(kind=2)
    c.contact(41, owner, "2026-11-25T15:00:00+00:00")  # not a member: filed under the owner
    # Linked to a member someone else serves: the task is for the distributor who met them.
    c.contact(42, other, "2026-11-25T16:00:00+00:00", member=customer)
    c.contact(43, owner, "2026-11-10T16:00:00+00:00")  # met long ago: outside the window
    r = rules(rule("meet_card", "new_contact", "card"),
              rule("meet_note", "new_contact", "task", delay_days=1))
    p = plan_touches(at(NOW), c.facts(), r)
    assert p.rows_with_owner() == plan_reference(at(NOW), c.facts(), r).rows_with_owner()
    # Only the task rule answers contacts (a card needs a member's address and consent).
    assert p.rows_with_owner() == [
        (1, owner, -41, int(at("2026-11-26T15:00:00+00:00").timestamp()), PLANNED, owner),
        (1, customer, -42, int(at("2026-11-26T16:00:00+00:00").timestamp()), PLANNED, other)]
    assert key_text("new_contact", -41) == "contact:41"
    assert key_num("new_contact", "contact:41") == -41
    assert key_num("new_contact", "joined") == 0


def test_contact_touch_is_not_made_again_when_the_contact_is_linked_later() -> None:
    c = Company()
    owner = c.add(kind=2)
    later = c.add(owner=owner)
    c.contact(7, owner, "2026-11-25T15:00:00+00:00")
    r = rules(rule("meet_note", "new_contact", "task"))
    first = plan(NOW, c, r)
    assert [(row[1], row[2], row[4]) for row in first.rows()] == [(owner, -7, PLANNED)]
    # Stored under the owner; the contact then becomes the member ``later``.
    c.existing = [(0, owner, -7)]
    c.contacts = [(7, later, owner, c.contacts[0][3])]
    assert [(row[1], row[4]) for row in plan(NOW, c, r).rows()] == [(later, ALREADY)]


def test_contact_of_a_terminated_distributor_or_a_terminated_member() -> None:
    c = Company()
    gone = c.add(kind=2, terminated=True)
    owner = c.add(kind=2)
    ended = c.add(owner=owner, terminated=True)
    customer = c.add(owner=owner)
    c.contact(1, gone, "2026-11-25T15:00:00+00:00")  # filed under the terminated distributor
    c.contact(2, gone, "2026-11-25T15:00:00+00:00", member=customer)  # nobody to send it
    c.contact(3, owner, "2026-11-25T15:00:00+00:00", member=ended)
    p = plan(NOW, c, rules(rule("meet_note", "new_contact", "task")))
    assert sorted((row[1], row[2], row[4]) for row in p.rows()) == [
        (gone, -1, TERMINATED), (ended, -3, TERMINATED), (customer, -2, NO_OWNER)]


def test_contact_tasks_count_against_the_distributors_daily_cap() -> None:
    c = Company()
    owner = c.add(kind=2, owner_tasks=1)
    for i in range(3):
        c.contact(10 + i, owner, f"2026-11-25T1{i}:00:00+00:00")
    p = plan(NOW, c, rules(rule("meet_note", "new_contact", "task", priority=50),
                           caps={"tasks_per_owner_per_day": 2}))
    # One task already today: room for one more, the earliest met.
    assert sorted((row[2], row[4]) for row in p.rows()) == [(-12, CAP), (-11, CAP),
                                                            (-10, PLANNED)]


# -- 4. check-ins spread over the window; a cap-dropped one comes back -------------------------

def _daily(c: Company, r: Rules, first: datetime, days: int) -> list[Plan]:
    """Tick once a day: planned touches are stored (and count as the last personal touch);
    dropped ones are stored as dropped."""
    plans = []
    for d in range(days):
        now = first + timedelta(days=d)
        facts = c.facts()
        p = plan_touches(now, facts, r)
        if d % 15 == 0:  # the reference is slow: check it on some of the days
            assert p.rows_with_owner() == plan_reference(now, facts, r).rows_with_owner()
        for rule_i, m, key, due, why in p.rows():
            if why == ALREADY:
                continue
            c.existing.append((rule_i, m, key))
            if why == PLANNED:
                last = c.members[m]["last_touch"]
                c.members[m]["last_touch"] = max(due, last if isinstance(last, int) else -1)
        plans.append(p)
    return plans


def test_first_tick_of_a_new_company_spreads_check_ins_over_the_window() -> None:
    c = Company()
    owners = [c.add(kind=2, joined_at="2020-01-01T00:00:00+00:00") for _ in range(4)]
    customers = [c.add(owner=owners[i % 4], joined_at="2024-03-01T00:00:00+00:00")
                 for i in range(240)]
    r = rules(rule("check_in", "no_touch", "task", days=30),
              caps={"tasks_per_owner_per_day": 20})
    plans = _daily(c, r, datetime(2026, 11, 26, 12, tzinfo=UTC), 33)
    per_day = [sum(1 for row in p.rows() if row[4] == PLANNED) for p in plans]
    # Not everyone at once: the first tick plans its window's share (4 days of 30 with a
    # lookback of 3), about 32 of 240, then about 8 a day.
    assert 15 <= per_day[0] <= 55
    assert max(per_day[1:]) <= 20
    # Every customer had exactly one check-in in the first window, nobody dropped by the cap.
    planned = Counter(row[1] for p in plans[:27] for row in p.rows() if row[4] == PLANNED)
    assert set(planned) == set(customers)
    assert set(planned.values()) == {1}
    assert not any(row[4] == CAP for p in plans for row in p.rows())
    # Stable: a tick repeated the same day plans nothing new.
    again = plan_touches(datetime(2026, 12, 28, 12, tzinfo=UTC), c.facts(), r)
    assert all(row[4] == ALREADY for row in again.rows())


def test_check_in_dropped_by_the_cap_comes_back_in_its_next_window() -> None:
    c = Company()
    owner = c.add(kind=2, joined_at="2020-01-01T00:00:00+00:00", owner_tasks=5)  # full today
    m = c.add(owner=owner, joined_at="2024-03-01T00:00:00+00:00")
    r = rules(rule("check_in", "no_touch", "task", days=30),
              caps={"tasks_per_owner_per_day": 5})
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    plans = _daily(c, r, start, 57)
    rows = [(d, row[2], row[4]) for d, p in enumerate(plans) for row in p.rows()
            if row[4] != ALREADY]
    # Dropped in its first window (the distributor's day is always full), and back in the next
    # one, about 30 days later, under a new key (a tick planning up to a day ahead and catching
    # up 3 days may take it a few days earlier than the first time).
    assert [why for _, _, why in rows] == [CAP, CAP]
    assert 26 <= rows[1][0] - rows[0][0] <= 30
    assert rows[0][1] != rows[1][1]
    # With room again, the next window's check-in is made, once.
    c.members[owner]["owner_tasks"] = 0
    later = _daily(c, r, start + timedelta(days=57), 30)
    made = [row for p in later for row in p.rows() if row[4] == PLANNED]
    assert [row[1] for row in made] == [m]
    assert made[0][2] not in (rows[0][1], rows[1][1])
