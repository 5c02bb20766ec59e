"""What a tick plans, rule by rule: the semantics that are easy to get wrong."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from patronage.care.core.facts import (
    ALREADY,
    CAP,
    HOLDOUT,
    MUTED,
    NO_CONSENT,
    NO_OWNER,
    PLANNED,
    SUPPRESSED,
    Plan,
    holdout_draw,
)
from patronage.care.core.occasions import key_text
from patronage.care.core.planner import plan_touches
from patronage.care.core.reference import plan_reference
from patronage.care.core.rules import Rules, default_rules_path, parse_rules
from tests.unit.care.builders import Company

DEFAULT = tomllib.loads(default_rules_path().read_text())


def rules(*only: dict[str, Any], **settings: Any) -> Rules:
    data = {**DEFAULT, "settings": {**DEFAULT["settings"], "holdout_share": 0.0, **settings}}
    data["rules"] = list(only)
    return parse_rules(data)


def rule(key: str, occasion: str, channel: str = "email", **more: Any) -> dict[str, Any]:
    return {"key": key, "occasion": occasion, "channel": channel, "template": "birthday",
            **more}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def plan(now: str, c: Company, r: Rules) -> Plan:
    """The planner's answer, checked against the reference on the way."""
    p = plan_touches(at(now), c.facts(), r)
    assert p.rows() == plan_reference(at(now), c.facts(), r).rows()
    return p


def touches(p: Plan) -> list[tuple[int, int, str, int]]:
    """(rule, member, due ISO in UTC, reason)."""
    return sorted((r, m, datetime.fromtimestamp(d, UTC).isoformat(), why)
                  for r, m, _, d, why in p.rows())


BIRTHDAY = rules(rule("birthday_email", "birthday"))


def test_birthday_fires_on_the_members_local_date() -> None:
    c = Company()
    auckland = c.add(zone="Pacific/Auckland", birth_month=11, birth_day=27)
    los_angeles = c.add(zone="America/Los_Angeles", birth_month=11, birth_day=27)
    # 2026-11-26 12:00 UTC is already the 27th in Auckland (UTC+13), still the 26th in LA.
    p = plan("2026-11-26T12:00:00+00:00", c, BIRTHDAY)
    assert touches(p) == [(0, auckland, "2026-11-26T21:00:00+00:00", PLANNED)]
    # LA's 27th at 10:00 is 18:00 UTC: planned by the tick of the 27th, not before.
    p = plan("2026-11-27T12:00:00+00:00", c, BIRTHDAY)
    assert (0, los_angeles, "2026-11-27T18:00:00+00:00", PLANNED) in touches(p)


def test_birthday_without_a_year_is_keyed_by_the_year_it_falls_in() -> None:
    c = Company()
    c.add(birth_month=3, birth_day=14)
    p = plan("2027-03-14T06:00:00+00:00", c, BIRTHDAY)
    assert [key_text("birthday", k) for k in p.key.tolist()] == ["2027"]


def test_february_29_birthday_in_a_non_leap_year_follows_the_policy() -> None:
    c = Company()
    c.add(birth_month=2, birth_day=29)
    feb28 = rules(rule("b", "birthday"), feb29="feb28")
    mar1 = rules(rule("b", "birthday"), feb29="mar1")
    assert len(plan("2027-02-28T06:00:00+00:00", c, feb28).rows()) == 1
    assert len(plan("2027-02-28T06:00:00+00:00", c, mar1).rows()) == 0
    assert len(plan("2027-03-01T06:00:00+00:00", c, mar1).rows()) == 1
    # In a leap year the day is the day, whatever the policy.
    assert touches(plan("2028-02-29T06:00:00+00:00", c, mar1))[0][2] == \
        "2028-02-29T10:00:00+00:00"


def test_printed_card_is_planned_postal_lead_days_before_so_it_arrives_on_the_day() -> None:
    c = Company()
    c.add(birth_month=12, birth_day=10)
    cards = rules(rule("card", "birthday", "card"), card_lead_days=7)
    # A tick plans one day ahead: not on the 1st, on the 2nd (due the 3rd) or the 3rd.
    assert plan("2026-12-01T12:00:00+00:00", c, cards).rows() == []
    assert touches(plan("2026-12-03T06:00:00+00:00", c, cards)) == [
        (0, 0, "2026-12-03T10:00:00+00:00", PLANNED)]


def test_email_falling_in_quiet_hours_moves_to_their_end_in_the_members_zone() -> None:
    c = Company()
    m = c.add(zone="America/Los_Angeles")
    # Ordered 22:30 in Los Angeles (06:30 UTC next day): the thank-you waits for 08:00 there.
    c.event("order", m, "2026-11-26T06:30:00+00:00", key=77)
    r = rules(rule("thanks", "order"))
    assert touches(plan("2026-11-26T07:00:00+00:00", c, r)) == [
        (0, m, "2026-11-26T16:00:00+00:00", PLANNED)]
    # A task is the distributor's to do: no quiet hours.
    c.members[m]["owner"] = c.add(kind=2)
    r = rules(rule("call", "order", "task"))
    assert touches(plan("2026-11-26T07:00:00+00:00", c, r))[0][2] == "2026-11-26T06:30:00+00:00"


def test_frequency_cap_drops_the_lower_priority_touch_instead_of_queueing_it() -> None:
    c = Company()
    m = c.add(birth_month=11, birth_day=26)
    c.event("order", m, "2026-11-26T09:00:00+00:00", key=5)
    r = rules(rule("thanks", "order", priority=20), rule("bday", "birthday", priority=80),
              caps={"email": {"max": 1, "days": 7}})
    p = plan("2026-11-26T11:00:00+00:00", c, r)
    assert sorted((row[0], row[4]) for row in p.rows()) == [(0, CAP), (1, PLANNED)]
    # A touch already made in the window counts against the cap.
    c.members[m]["recent_email"] = 1
    p = plan("2026-11-26T11:00:00+00:00", c, r)
    assert sorted((row[0], row[4]) for row in p.rows()) == [(0, CAP), (1, CAP)]


def test_tasks_per_distributor_per_day_are_capped() -> None:
    c = Company()
    owner = c.add(kind=2, owner_tasks=1)
    for _ in range(3):
        c.add(owner=owner, birth_month=5, birth_day=5)
    r = rules(rule("call", "birthday", "task"),
              caps={"tasks_per_owner_per_day": 2})
    reasons = sorted(row[4] for row in plan("2026-05-05T06:00:00+00:00", c, r).rows())
    assert reasons == [PLANNED, CAP, CAP]


def test_consent_per_channel() -> None:
    c = Company()
    no_email = c.add(birth_month=6, birth_day=1, consent_email=0)
    withdrawn_post = c.add(birth_month=6, birth_day=8, consent_post=-1)
    never_asked_post = c.add(birth_month=6, birth_day=8, consent_post=0)
    r = rules(rule("e", "birthday"))
    assert [row[4] for row in plan("2026-06-01T06:00:00+00:00", c, r).rows()] == [NO_CONSENT]
    legit = rules(rule("c", "birthday", "card"), card_basis="legitimate_interest")
    strict = rules(rule("c", "birthday", "card"), card_basis="consent")
    p = plan("2026-06-01T06:00:00+00:00", c, legit)
    assert {(row[1], row[4]) for row in p.rows()} == {(withdrawn_post, NO_CONSENT),
                                                      (never_asked_post, PLANNED)}
    p = plan("2026-06-01T06:00:00+00:00", c, strict)
    assert {(row[1], row[4]) for row in p.rows()} == {(withdrawn_post, NO_CONSENT),
                                                      (never_asked_post, NO_CONSENT)}
    assert no_email == 0
    # A task needs no consent, but an owner.
    c.members[no_email]["consent_email"] = -1
    task = rules(rule("t", "birthday", "task"))
    assert [row[4] for row in plan("2026-06-01T06:00:00+00:00", c, task).rows()] == [NO_OWNER]


def test_suppression_and_erasure_always_win() -> None:
    c = Company()
    c.add(birth_month=7, birth_day=7, suppressed_email=True)
    c.add(birth_month=7, birth_day=7, erased=True)
    p = plan("2026-07-07T06:00:00+00:00", c, BIRTHDAY)
    assert [(row[1], row[4]) for row in p.rows()] == [(0, SUPPRESSED)]


def test_no_check_in_while_an_autoship_payment_is_being_recovered() -> None:
    c = Company()
    c.add(joined_at="2026-08-28T06:00:00+00:00", recovering=True)  # 90 days ago, due now
    r = rules(rule("check_in", "no_touch", "email", days=90),
              rule("help", "new_contact", "email"))
    p = plan("2026-11-26T12:00:00+00:00", c, r)
    assert [row[4] for row in p.rows()] == [MUTED]
    # A rule may say otherwise.
    r = rules(rule("check_in", "no_touch", "email", days=90, mute_in_recovery=False))
    assert [row[4] for row in plan("2026-11-26T12:00:00+00:00", c, r).rows()] == [PLANNED]


def test_member_added_late_gets_no_burst_of_back_dated_touches() -> None:
    c = Company()
    m = c.add(joined_at="2023-06-01T00:00:00+00:00", birth_month=11, birth_day=1)
    for i, day in enumerate(("2026-10-01", "2026-11-20", "2026-11-25")):
        c.event("order", m, f"{day}T12:00:00+00:00", key=i + 1, ordinal=i + 1)
    r = rules(rule("bday", "birthday"), rule("thanks", "order"), lookback_days=3)
    p = plan("2026-11-26T12:00:00+00:00", c, r)
    # Only the order inside the lookback window is thanked; the birthday weeks ago is not
    # celebrated late (a long silence: see the check-in spread tests).
    assert touches(p) == [(1, m, "2026-11-25T12:00:00+00:00", PLANNED)]


def test_each_rule_member_occasion_at_most_once() -> None:
    c = Company()
    m = c.add()
    c.event("order", m, "2026-11-26T09:00:00+00:00", key=41)
    r = rules(rule("thanks", "order"))
    first = plan("2026-11-26T10:00:00+00:00", c, r)
    assert [row[4] for row in first.rows()] == [PLANNED]
    c.existing = [(0, m, 41)]
    again = plan("2026-11-27T10:00:00+00:00", c, r)
    assert [row[4] for row in again.rows()] == [ALREADY]


def test_every_nth_order_and_first_order() -> None:
    c = Company()
    m = c.add()
    for n in range(1, 7):
        c.event("order", m, f"2026-11-26T0{n}:00:00+00:00", key=100 + n, ordinal=n)
    r = rules(rule("first", "first_order", "task"), rule("third", "order", "task", every=3))
    c.members[m]["owner"] = c.add(kind=2)
    p = plan("2026-11-26T10:00:00+00:00", c, r)
    assert sorted((row[0], row[2]) for row in p.rows()) == [(0, 101), (1, 103), (1, 106)]


def test_holdout_is_stable_per_member_and_recorded_as_dropped() -> None:
    c = Company()
    for _ in range(400):
        c.add(birth_month=8, birth_day=8)
    r = rules(rule("b", "birthday"), holdout_share=0.25)
    p = plan("2026-08-08T06:00:00+00:00", c, r)
    held = {int(m) for m, why in zip(p.member, p.reason, strict=True) if why == HOLDOUT}
    assert 60 < len(held) < 140  # about a quarter
    facts = c.facts()
    assert held == {i for i in range(400)
                    if holdout_draw(int(facts.member_id[i]), "patronage-care") < 0.25}
    again = plan("2027-08-08T06:00:00+00:00", c, r)
    assert held == {int(m) for m, why in zip(again.member, again.reason, strict=True)
                    if why == HOLDOUT}


def test_audience_and_owner_tasks() -> None:
    c = Company()
    owner = c.add(kind=2, birth_month=9, birth_day=9)
    customer = c.add(kind=1, owner=owner, birth_month=9, birth_day=9)
    r = rules(rule("to_customers", "birthday", "task", audience="customers"),
              rule("to_distributors", "birthday", audience="distributors"))
    p = plan("2026-09-09T06:00:00+00:00", c, r)
    assert sorted((row[0], row[1], row[4]) for row in p.rows()) == [
        (0, customer, PLANNED), (1, owner, PLANNED)]


def test_movable_holidays_are_computed_every_year() -> None:
    c = Company()
    c.add(zone="America/Los_Angeles")
    r = rules(rule("thanks", "holiday", holidays=["thanksgiving_us"]))
    # US Thanksgiving: 2026-11-26, 2027-11-25.
    assert [key_text("holiday", k) for k in
            plan("2026-11-26T12:00:00+00:00", c, r).key.tolist()] == ["2026-11-26"]
    assert [key_text("holiday", k) for k in
            plan("2027-11-25T12:00:00+00:00", c, r).key.tolist()] == ["2027-11-25"]
    # Past the lookback window, a missed holiday is not sent late.
    assert plan("2027-11-29T20:00:00+00:00", c, r).rows() == []


def test_value_at_risk_task_once_a_month() -> None:
    c = Company()
    owner = c.add(kind=2)
    c.add(owner=owner, value_at_risk=25_000)
    c.add(owner=owner, value_at_risk=5_000)
    r = rules(rule("risk", "value_at_risk", "task", min_value=100))
    p = plan("2026-11-26T12:00:00+00:00", c, r)
    assert [(row[1], key_text("value_at_risk", row[2])) for row in p.rows()] == \
        [(1, "2026-11")]
