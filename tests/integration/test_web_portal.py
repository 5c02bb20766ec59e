"""The customer's account (``/me``): the next delivery with names, prices, total and date; every
autoship change in place (htmx) through the autoship services; order history; referral progress;
the survey as 0–10 buttons. On SQLite and PostgreSQL, at a fixed clock."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.care import SurveyResponse
from patronage.db.engine import transaction
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests import factories as f
from tests.e2e.world import EMAILS, NOW, World, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage
HTMX = {"HX-Request": "true"}


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def cory_client(engine: Engine) -> tuple[TestClient, str]:
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["customer"]).status_code == 303
    return client, csrf_of(client.get("/account").text)


def _section(html: str, name: str) -> str:
    found = re.search(rf'<section class="card" id="{name}".*?</section>', html, re.S)
    assert found, f"no section {name}"
    return found.group(0)


def _items(engine: Engine, sub: int) -> dict[str, int]:
    with transaction(engine) as s:
        return {i.sku: i.quantity for i in s.scalars(
            select(SubscriptionItem).where(SubscriptionItem.subscription_id == sub))}


def _sub(engine: Engine, sub: int) -> Subscription:
    with transaction(engine) as s:
        found = s.get(Subscription, sub)
        assert found is not None
        s.expunge(found)
        return found


def test_next_delivery_names_products_with_prices_total_and_date(engine: Engine,
                                                                  world: World) -> None:
    cory, _ = cory_client(engine)
    box = _section(cory.get("/me").text, "autoship")
    assert "November 10, 2026" in box
    assert "1 × Daily shake" in box and "SHAKE" not in re.sub(r'value="[^"]*"', "", box)
    assert "$60.00" in box  # a retail customer pays the retail price, in the market currency
    assert re.search(r'class="num nowrap next-total">\$60\.00<', box)


def test_each_change_is_made_in_place_and_lands_in_the_database(engine: Engine,
                                                                 world: World) -> None:
    cory, csrf = cory_client(engine)
    sub = world.cory_sub
    base = f"/me/autoship/{sub}"

    def act(action: str, **form: str) -> str:
        r = cory.post(f"{base}/{action}", data={"csrf_token": csrf, **form}, headers=HTMX)
        assert r.status_code == 200, r.text
        return _section(r.text, "autoship")

    box = act("skip")
    assert "Skipped." in box and "December 10, 2026" in box and "Undo skip" in box
    assert str(_sub(engine, sub).next_run) == "2026-12-10"
    box = act("undo-skip")
    assert "November 10, 2026" in box and "Undo skip" not in box
    assert str(_sub(engine, sub).next_run) == "2026-11-10"

    box = act("date", day="20")
    assert "November 20, 2026" in box and _sub(engine, sub).day_of_month == 20

    box = act("add", sku="TEA", quantity="2")
    assert "2 × Herbal tea" in box and "$110.00" in box  # 60.00 + 2 × 25.00
    assert _items(engine, sub) == {"SHAKE": 1, "TEA": 2}
    box = act("remove", sku="TEA")
    assert "× Herbal tea" not in box and _items(engine, sub) == {"SHAKE": 1}
    box = act("swap", sku="SHAKE", new_sku="TEA", quantity="3")
    assert "3 × Herbal tea" in box and "$75.00" in box and _items(engine, sub) == {"TEA": 3}
    r = cory.post(f"{base}/remove", data={"csrf_token": csrf, "sku": "TEA"}, headers=HTMX)
    assert r.status_code == 409 and "the only product" in _section(r.text, "autoship")
    assert _items(engine, sub) == {"TEA": 3}

    box = act("pause", until="2027-01-31")
    assert "paused" in box.lower() and "January 31, 2027" in box
    assert _sub(engine, sub).status == "paused"
    box = act("resume")
    assert _sub(engine, sub).status == "active" and "Next delivery" in box

    box = act("cancel", reason="moving abroad")
    assert "Restart autoship" in box and _sub(engine, sub).status == "cancelled"
    box = act("restart")
    assert "Welcome back!" in box and _sub(engine, sub).status == "active"


def test_a_refused_change_shows_the_reason_in_place(engine: Engine, world: World) -> None:
    cory, csrf = cory_client(engine)
    r = cory.post(f"/me/autoship/{world.cory_sub}/date", data={"csrf_token": csrf, "day": "32"},
                  headers=HTMX)
    assert r.status_code == 400
    box = _section(r.text, "autoship")
    assert 'role="alert"' in box and "32" in box
    assert _sub(engine, world.cory_sub).day_of_month == 10


def test_swap_one_item_keeps_the_others(engine: Engine, world: World) -> None:
    with transaction(engine) as s:
        add_product(s, NewProduct("BAR", "Protein bar", 1500, 1200, 1000, 900))
    cory, csrf = cory_client(engine)
    base = f"/me/autoship/{world.cory_sub}"
    cory.post(f"{base}/add", data={"csrf_token": csrf, "sku": "TEA", "quantity": "1"})
    r = cory.post(f"{base}/swap", data={"csrf_token": csrf, "sku": "SHAKE", "new_sku": "BAR",
                                        "quantity": ""}, headers=HTMX)
    assert r.status_code == 200 and "1 × Protein bar" in _section(r.text, "autoship")
    assert _items(engine, world.cory_sub) == {"BAR": 1, "TEA": 1}


def test_order_history_lists_each_order_with_its_lines_and_total(engine: Engine,
                                                                 world: World) -> None:
    with transaction(engine) as s:
        place_order(s, NewOrder(world.cory, datetime(2026, 10, 2, 9, tzinfo=UTC),
                                [LineRequest("TEA", 3), LineRequest("SHAKE", 1)],
                                source="one_time", idempotency_key="cory-oct"), now=NOW)
    cory, _ = cory_client(engine)
    box = _section(cory.get("/me").text, "orders")
    assert box.index("Oct 2, 2026") < box.index("Sep 6, 2026")  # newest first
    assert "one-time order" in box and "one_time" not in box
    assert "3 × Herbal tea" in box and "1 × Daily shake" in box and "2 × Daily shake" in box
    assert "$135.00" in box  # 3 × 25.00 + 60.00
    assert "$120.00" in box  # September: 2 × 60.00


def test_referral_progress_counts_friends_who_ordered_this_month(engine: Engine,
                                                                 world: World) -> None:
    with transaction(engine) as s:
        for i, name in enumerate(("Fay", "Gus", "Hal")):
            friend = f.customer(s, world.ann, name, joined_at=datetime(2026, 2, 1, tzinfo=UTC),
                                referrer_id=world.cory)
            if i < 2:
                place_order(s, NewOrder(friend, datetime(2026, 10, 3 + i, tzinfo=UTC),
                                        [LineRequest("TEA", 1)], idempotency_key=f"f{i}"),
                            now=NOW)
    cory, _ = cory_client(engine)
    box = _section(cory.get("/me").text, "referral")
    text = re.sub(r"<[^>]+>", "", box)
    assert "2 of 3 friends ordered this month" in text and "(3 referred in all)" in text


def test_survey_is_answered_with_one_tap(engine: Engine, world: World) -> None:
    cory, csrf = cory_client(engine)
    box = _section(cory.get("/me").text, "survey")
    assert [int(v) for v in re.findall(r'name="score" value="(\d+)"', box)] == list(range(11))
    action = re.search(r'<form method="post" action="(/s/[^"]+)"', box)
    assert action
    r = cory.post(action.group(1), data={"csrf_token": csrf, "score": "9"})
    assert r.status_code == 200 and "Thank you!" in r.text
    with transaction(engine) as s:
        assert [(a.member_id, a.score) for a in s.scalars(select(SurveyResponse))] == \
            [(world.cory, 9)]


def test_every_field_on_the_account_page_has_a_visible_label(engine: Engine,
                                                             world: World) -> None:
    cory, _ = cory_client(engine)
    html = cory.get("/me").text
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = tag.group(2)
        if 'type="hidden"' in attrs:
            continue
        found = re.search(r'\bid="([^"]+)"', attrs)
        inside = html.rfind("<label", 0, tag.start()) > html.rfind("</label>", 0, tag.start())
        assert inside or (found and found.group(1) in labelled), attrs
    assert date(2026, 10, 15) == NOW.date()
