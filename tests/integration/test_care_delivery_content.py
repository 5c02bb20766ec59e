"""Personalisation loaded from the records: the order, the referral, the distributor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from patronage.care.content import build_context, default_templates
from patronage.care.links import read_token
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
CFG = Settings(company_name="Acme Wellness", base_url="https://care.acme.example/",
               secret_key="ctx-secret")
pytestmark = pytest.mark.storage


def test_order_thanks_names_the_products_and_never_an_amount(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        add_product(s, NewProduct("SHAKE", "Daily shake", 6000, 4500, 4000, 3600))
        add_product(s, NewProduct("TEA", "Herbal tea", 2500, 2000, 1500, 1200))
        order = place_order(s, NewOrder(sally, NOW, [LineRequest("SHAKE", 2),
                                                     LineRequest("TEA")]), now=NOW).order
        tid = touch(s, sally, dana, channel="email", template="first_order_thanks",
                    occasion="first_order", occasion_key=str(order.id), due_at=NOW)
        row = s.get(Touch, tid)
        assert row is not None
        ctx = build_context(s, row, NOW, settings=CFG)
    assert ctx["order"]["product_names"] == "Daily shake and Herbal tea"
    assert ctx["owner"]["name"] == "Dana Owens" and ctx["signer"] == "Dana"
    assert ctx["months_on_autoship"] is None
    email = default_templates().email("first_order_thanks", ctx)
    assert "first order (Daily shake and Herbal tea)" in email.text
    assert "60" not in email.text and "45" not in email.text
    token = ctx["links"]["survey"].removeprefix("https://care.acme.example/s/")
    assert read_token(token, "survey", NOW, secret="ctx-secret").touch_id == tid


def test_referral_thanks_names_who_was_referred_this_time(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        ann = customer(s, dana, "Ann", referrer_id=sally)
        customer(s, dana, "Sam", referrer_id=sally,
                 joined_at=datetime(2026, 9, 1, tzinfo=UTC))
        tid = touch(s, sally, None, channel="card", template="referral_thanks",
                    occasion="referral", occasion_key=str(ann), due_at=NOW)
        row = s.get(Touch, tid)
        assert row is not None
        ctx = build_context(s, row, NOW, settings=CFG)
    assert ctx["referral"] == "Ann" and ctx["referred"] == ["Sam", "Ann"]
    card = default_templates().card("referral_thanks", ctx)
    assert card.inside.splitlines()[1] == "thank you for introducing Ann."
    assert card.inside.endswith("Dana")  # the owner signs even when the touch names none
