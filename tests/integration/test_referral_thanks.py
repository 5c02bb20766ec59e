"""The referring customer's thank-you (care) fires when a friend's first order lands, not when
the friend signs up, and once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from patronage.care.core.rules import load_rules
from patronage.care.tick import tick
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = datetime(2025, 3, 1, tzinfo=UTC)


def _referral_touches(engine: Engine, member: int) -> list[tuple[str, str, str]]:
    with transaction(engine) as s:
        return sorted((t.rule_key, t.occasion_key, t.status) for t in s.scalars(
            select(Touch).where(Touch.member_id == member, Touch.occasion == "referral")))


def test_the_referrer_is_thanked_when_the_friends_first_order_lands(engine: Engine) -> None:
    rules = load_rules().model_copy(update={"settings": load_rules().settings.model_copy(
        update={"holdout_share": 0.0})})
    with transaction(engine) as s:
        catalog(s)
        dana = distributor(s, "Dana", joined_at=JOINED, email="dana@example.com")
        ria = customer(s, dana, "Ria", kind="preferred", joined_at=JOINED,
                       email="ria@example.com", consents={"email": True})
        ann = customer(s, dana, "Ann", referrer_id=ria, joined_at=NOW - timedelta(hours=20),
                       email="ann@example.com", consents={"email": True})
    tick(engine, NOW, rules)
    assert _referral_touches(engine, ria) == []  # Ann joined, nothing bought yet
    with transaction(engine) as s:
        place_order(s, NewOrder(ann, NOW + timedelta(hours=2), [LineRequest("SHAKE")]),
                    now=NOW + timedelta(hours=2))
    tick(engine, NOW + timedelta(hours=6), rules)
    touches = _referral_touches(engine, ria)
    assert ("referral_thanks", str(ann), "planned") in touches
    with transaction(engine) as s:
        email = s.scalars(select(Touch).where(Touch.rule_key == "referral_thanks")).one()
        assert email.channel == "email" and email.member_id == ria
    # Ann's second order thanks nobody again.
    with transaction(engine) as s:
        place_order(s, NewOrder(ann, NOW + timedelta(days=3), [LineRequest("SHAKE")]),
                    now=NOW + timedelta(days=3))
    tick(engine, NOW + timedelta(days=3, hours=4), rules)
    assert _referral_touches(engine, ria) == touches
