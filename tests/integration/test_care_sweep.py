"""Delivery that completes: after a delivery run no touch stays planned past its window, on
any channel; each is sent, dropped as late, or expired, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import Engine, select

from patronage.care.core.rules import load_rules
from patronage.care.deliver import deliver_due
from patronage.care.sweep import LATE, TASK_EXPIRED, windows
from patronage.care.today import EXPIRED
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.integrity import check_integrity
from tests.fixtures.care_data import customer, distributor, touch
from tests.integration.test_care_delivery_email import Smtp, _sender, settings_for
from tests.integration.test_care_delivery_email import smtp as smtp  # the fixture

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AGES = (timedelta(days=45), timedelta(days=31), timedelta(days=5), timedelta(days=3, hours=1),
        timedelta(days=2), timedelta(hours=1), -timedelta(hours=2))


def test_no_touch_stays_planned_past_its_window(engine: Engine, smtp: Smtp) -> None:
    rules = load_rules()
    settings = settings_for(smtp)
    timed, personal, other = windows(rules, settings.occasion_grace_days)
    with transaction(engine) as s:
        dana = distributor(s)
        people = [customer(s, dana, f"C{i}", email=f"c{i}@example.com")
                  for i in range(len(AGES) * 2)]
        made = []
        for i, (age, occasion) in enumerate(product(AGES, ("birthday", "no_touch"))):
            for channel in ("email", "card", "sms", "task"):
                made.append(touch(s, people[i], dana, channel=channel, template="birthday",
                                  occasion=occasion, due_at=NOW - age,
                                  rule_key=f"{occasion}_{channel}"))
    report = deliver_due(engine, NOW, settings=settings, sender_factory=_sender, rules=rules)
    assert report.closed is not None and report.closed.dropped and report.closed.expired

    def window(t: Touch) -> timedelta:
        if t.channel != "task":
            return timed
        return personal if t.occasion == "birthday" else other

    with transaction(engine) as s:
        rows = list(s.scalars(select(Touch).where(Touch.id.in_(made))))
    assert len(rows) == len(made)
    for t in rows:
        passed = t.due_at < NOW - window(t)
        assert not (passed and t.status == "planned"), (t.channel, t.occasion, t.due_at)
        if passed and t.channel != "task":
            assert t.status == "dropped", (t.channel, t.status)
            assert t.drop_reason == LATE or (t.drop_reason or "").startswith("late: due")
        if passed and t.channel == "task":
            assert (t.status, t.drop_reason) == (
                "expired", EXPIRED if t.occasion == "birthday" else TASK_EXPIRED)
        if not passed and t.channel == "task" and t.status != "planned":
            pytest.fail(f"a task in its window was closed: {t.occasion} due {t.due_at}")
    # emails in their window went out
    assert {t.status for t in rows if t.channel == "email" and t.due_at <= NOW and
            t.due_at >= NOW - timed} == {"sent"}
    assert check_integrity(engine, NOW).ok
    # again: nothing more changes
    again = deliver_due(engine, NOW, settings=settings, sender_factory=_sender, rules=rules)
    assert again.closed is not None and (again.closed.dropped, again.closed.expired) == (0, 0)


def test_an_email_being_retried_is_left_to_its_retries(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana, email="s@example.com")
        tid = touch(s, sally, dana, channel="email", template="birthday",
                    due_at=NOW - timedelta(days=4))
        row = s.get(Touch, tid)
        assert row is not None
        row.attempts, row.next_attempt_at = 3, NOW + timedelta(minutes=30)
    deliver_due(engine, NOW, settings=Settings(secret_key="x", smtp_port=1))
    with transaction(engine) as s:
        row = s.get(Touch, tid)
        assert row is not None and row.status == "planned" and row.attempts == 3


def test_bounces_and_complaints_from_the_provider_suppress_the_address(engine: Engine) -> None:
    """``POST /webhooks/mail``: unsigned or malformed is refused with nothing changed; a hard
    bounce and a complaint suppress the address (the next tick drops its touches as
    suppressed); a soft bounce and a replay change nothing."""
    from fastapi.testclient import TestClient

    from patronage.care.bounces import sign
    from patronage.care.tick import tick
    from patronage.clock import FixedClock
    from patronage.network.members import is_suppressed
    from patronage.server import create_app

    secret = "mail-secret"
    with transaction(engine) as s:
        dana = distributor(s)
        hard = customer(s, dana, "Hal", email="hal@example.com", birth_month=11, birth_day=26)
        customer(s, dana, "Sue", email="sue@example.com")
    app = create_app(settings=Settings(secret_key="x" * 32, mail_webhook_secret=secret),
                     engine=engine, clock=FixedClock(NOW), migrate=False)
    client = TestClient(app)
    body = (b'{"events": [{"type": "bounce", "email": "hal@example.com", "bounce": "hard"},'
            b' {"type": "complaint", "email": "cat@example.com"},'
            b' {"type": "bounce", "email": "sue@example.com", "bounce": "soft"}]}')
    headers = {"content-type": "application/json"}
    unsigned = client.post("/webhooks/mail", content=body, headers=headers)
    assert unsigned.status_code == 400 and "X-Patronage-Signature" in unsigned.json()["error"]
    bad = b'{"events": [{"type": "bounce", "email": "a@example.com"}, {"type": "open"}]}'
    refused = client.post("/webhooks/mail", content=bad,
                          headers={**headers, "x-patronage-signature": sign(bad, secret)})
    assert refused.status_code == 400 and "events[1].type" in refused.json()["error"]
    with transaction(engine) as s:
        assert not is_suppressed(s, "email", "a@example.com")
    signed = {**headers, "x-patronage-signature": sign(body, secret)}
    done = client.post("/webhooks/mail", content=body, headers=signed)
    assert done.status_code == 200, done.text
    assert done.json() == {"suppressed": 2, "already": 0, "ignored": 1}
    assert client.post("/webhooks/mail", content=body, headers=signed).json() == {
        "suppressed": 0, "already": 2, "ignored": 1}
    with transaction(engine) as s:
        assert is_suppressed(s, "email", "hal@example.com")
        assert is_suppressed(s, "email", "cat@example.com")
        assert not is_suppressed(s, "email", "sue@example.com")
    tick(engine, NOW)
    with transaction(engine) as s:
        reasons = {t.drop_reason for t in s.scalars(select(Touch).where(
            Touch.member_id == hard, Touch.channel == "email"))}
    assert reasons == {"suppressed"}
