"""The shop through its pages, on both databases: share links and attribution, checkout (buy
once, autoship, preferred customer, distributor enrollment), idempotency, payment failure,
form problems, taxes and passing on a lead."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.autoship.gateway import ChargeResult
from patronage.clock import FixedClock
from patronage.db.autoship import SimulatedCharge, Subscription
from patronage.db.care import Contact, Touch
from patronage.db.engine import transaction
from patronage.db.shop import AgreementAcceptance, Attribution, Checkout, Lead
from patronage.db.tables import Member, Order, OrderLine
from patronage.server import create_app
from patronage.shop.links import HOUSE_REF, share_code
from tests.e2e.world import EMAILS, NOW, World, csrf_of, seed, settings, sign_in

ADDRESS = {"first_name": "Nina", "last_name": "Novak", "email": "nina@example.com",
           "phone": "+1 312 555 1234", "address_line1": "1 Main St", "city": "Springfield",
           "region": "IL", "postal_code": "62701", "country": "US"}


def app(engine: Engine, **overrides: Any) -> Any:
    cfg = settings().model_copy(update=overrides)
    return create_app(settings=cfg, engine=engine, clock=FixedClock(NOW), migrate=False)


def code_of(engine: Engine, member_id: int) -> str:
    with transaction(engine) as s:
        return share_code(s, member_id, now=NOW)


def fill_cart(client: TestClient, *items: tuple[str, int]) -> str:
    csrf = csrf_of(client.get("/shop").text)
    for sku, qty in items:
        r = client.post("/shop/cart", data={"csrf_token": csrf, "sku": sku,
                                             "quantity": str(qty)}, follow_redirects=False)
        assert r.status_code == 303, r.text
    return csrf


def checkout_page(client: TestClient, plan: str = "once") -> tuple[str, str]:
    html = client.get(f"/shop/checkout?plan={plan}").text
    key = re.search(r'name="key" value="([^"]+)"', html)
    assert key
    return csrf_of(html), key.group(1)


def pay(client: TestClient, plan: str = "once", **fields: str) -> Any:
    csrf, key = checkout_page(client, plan)
    data = {"csrf_token": csrf, "key": key, "plan": plan, **ADDRESS, **fields}
    return client.post("/shop/checkout", data=data), key


def member_by_email(engine: Engine, email: str) -> Member:
    with transaction(engine) as s:
        m = s.scalar(select(Member).where(Member.email == email))
        assert m is not None
        s.expunge(m)
        return m


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_buy_once_through_a_distributors_link(engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    r = client.get(f"/join/{code_of(engine, world.ben)}", follow_redirects=False)
    assert r.status_code == 303 and "patronage_share" in r.headers["set-cookie"]
    assert "Max-Age=2592000" in r.headers["set-cookie"]  # 30 days, as stated
    assert "Ben invited you" in client.get("/shop").text
    fill_cart(client, ("SHAKE", 2))
    r, key = pay(client)
    assert r.status_code == 200, r.text
    assert "Thank you, Nina" in r.text and "$120.00" in r.text
    nina = member_by_email(engine, "nina@example.com")
    assert (nina.kind, nina.owner_id, nina.referrer_id) == ("retail", world.ben, None)
    with transaction(engine) as s:
        order = s.scalar(select(Order).where(Order.buyer_id == nina.id))
        assert order is not None
        assert (order.source, order.total, order.credited_to_id) == ("one_time", 12000,
                                                                     world.ben)
        kinds = set(s.scalars(select(OrderLine.volume_kind).where(
            OrderLine.order_id == order.id)))
        assert kinds == {"consumption"}
        charge = s.scalar(select(SimulatedCharge).where(SimulatedCharge.key == f"shop:{key}"))
        assert charge is not None and charge.amount == 12000 and charge.approved
        attribution = s.get(Attribution, nina.id)
        assert attribution is not None and not attribution.house_fallback
        touch = s.scalar(select(Touch).where(Touch.member_id == nina.id))
        assert touch is not None and (touch.channel, touch.template) == ("email",
                                                                         "order_confirmation")


def test_a_customers_link_credits_her_owner_and_her_as_referrer(engine: Engine,
                                                                  world: World) -> None:
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.cory)}")
    fill_cart(client, ("TEA", 1))
    r, _ = pay(client, "preferred")
    assert r.status_code == 200, r.text
    nina = member_by_email(engine, "nina@example.com")
    assert (nina.kind, nina.owner_id, nina.referrer_id) == ("preferred", world.ann, world.cory)
    with transaction(engine) as s:
        order = s.scalar(select(Order).where(Order.buyer_id == nina.id))
        assert order is not None and order.total == 2000  # the member price


def test_a_terminated_distributors_link_falls_back_to_the_house(engine: Engine,
                                                                world: World) -> None:
    code = code_of(engine, world.zed)
    with transaction(engine) as s:
        zed = s.get(Member, world.zed)
        assert zed is not None
        zed.status = "terminated"
    client = TestClient(app(engine))
    r = client.get(f"/join/{code}")
    assert "no longer active" in r.text
    assert "no longer active" in client.get("/join/unknownCode").text
    fill_cart(client, ("TEA", 1))
    assert pay(client)[0].status_code == 200
    nina = member_by_email(engine, "nina@example.com")
    with transaction(engine) as s:
        house = s.scalar(select(Member).where(Member.ref == HOUSE_REF))
        assert house is not None and house.kind == "distributor"
        assert nina.owner_id == house.id
        attribution = s.get(Attribution, nina.id)
        assert attribution is not None and attribution.house_fallback


@pytest.mark.parametrize("policy,winner", [("first", "ann"), ("last", "ben")])
def test_first_or_last_link_wins_by_setting(engine: Engine, world: World, policy: str,
                                            winner: str) -> None:
    client = TestClient(app(engine, shop_link_wins=policy))
    client.get(f"/join/{code_of(engine, world.ann)}")
    client.get(f"/join/{code_of(engine, world.ben)}")
    fill_cart(client, ("TEA", 1))
    assert pay(client)[0].status_code == 200
    assert member_by_email(engine, "nina@example.com").owner_id == getattr(world, winner)


def test_a_returning_customer_keeps_her_owner(engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.zed)}")
    assert sign_in(client, EMAILS["customer"]).status_code == 303  # Cory, Ann's customer
    fill_cart(client, ("TEA", 2))
    csrf, key = checkout_page(client)
    r = client.post("/shop/checkout", data={"csrf_token": csrf, "key": key, "plan": "once"})
    assert r.status_code == 200, r.text
    with transaction(engine) as s:
        cory = s.get(Member, world.cory)
        assert cory is not None and cory.owner_id == world.ann
        order = s.scalar(select(Order).where(Order.idempotency_key == f"shop:{key}"))
        assert order is not None and order.buyer_id == world.cory
        assert order.credited_to_id == world.ann


def test_a_double_submit_makes_one_order_and_one_charge(engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    fill_cart(client, ("SHAKE", 1))
    csrf, key = checkout_page(client)
    data = {"csrf_token": csrf, "key": key, "plan": "once", **ADDRESS}
    first = client.post("/shop/checkout", data=data)
    again = client.post("/shop/checkout", data=data)
    assert first.status_code == again.status_code == 200
    number = re.search(r"order no\. (\d+)", first.text)
    assert number and f"order no. {number.group(1)}" in again.text
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Member).where(
            Member.email == "nina@example.com")) == 1
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.idempotency_key == f"shop:{key}")) == 1
        assert s.scalar(select(func.count()).select_from(SimulatedCharge).where(
            SimulatedCharge.key == f"shop:{key}")) == 1
        assert s.scalar(select(func.count()).select_from(Checkout)) == 1


class Declines:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        self.asked.append(key)
        return ChargeResult(False, "insufficient_funds")


def test_a_declined_payment_leaves_no_order_and_no_customer(engine: Engine,
                                                            world: World) -> None:
    web = app(engine)
    web.state.gateway = Declines()
    client = TestClient(web)
    client.get(f"/join/{code_of(engine, world.ben)}")
    fill_cart(client, ("SHAKE", 1))
    with transaction(engine) as s:
        before = [s.scalar(select(func.count()).select_from(t)) for t in (Member, Order,
                                                                           Checkout, Touch)]
    r, key = pay(client)
    assert r.status_code == 402
    assert "declined (insufficient_funds)" in r.text and "no order was made" in r.text
    fresh = re.search(r'name="key" value="([^"]+)"', r.text)
    assert fresh and fresh.group(1) != key  # the next try is a new charge
    assert web.state.gateway.asked == [f"shop:{key}"]
    with transaction(engine) as s:
        after = [s.scalar(select(func.count()).select_from(t)) for t in (Member, Order,
                                                                          Checkout, Touch)]
        assert after == before


def test_start_an_autoship(engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.ben)}")
    fill_cart(client, ("SHAKE", 1), ("TEA", 2))
    r, key = pay(client, "autoship", autoship_day="20")
    assert r.status_code == 200, r.text
    assert "autoship is set up" in r.text
    nina = member_by_email(engine, "nina@example.com")
    assert (nina.kind, nina.owner_id) == ("preferred", world.ben)
    with transaction(engine) as s:
        sub = s.scalar(select(Subscription).where(Subscription.member_id == nina.id))
        assert sub is not None and (sub.day_of_month, str(sub.next_run)) == (20, "2026-10-20")
        order = s.scalar(select(Order).where(Order.idempotency_key == f"shop:{key}"))
        assert order is not None and (order.source, order.subscription_id) == ("autoship",
                                                                               sub.id)
        assert order.total == 4500 + 2 * 2000


def test_enroll_as_a_distributor_with_a_pack(engine: Engine, world: World) -> None:
    client = TestClient(app(engine, agreement_version="2026-3"))
    client.get(f"/join/{code_of(engine, world.cory)}")  # a customer's link: her owner sponsors
    csrf, key = checkout_page(client, "enroll")
    data = {"csrf_token": csrf, "key": key, "plan": "enroll", "pack": "PACK", **ADDRESS}
    refused = client.post("/shop/checkout", data=data)
    assert refused.status_code == 400 and "accept the distributor agreement" in refused.text
    r = client.post("/shop/checkout", data={**data, "agreement": "yes"},
                    headers={"user-agent": "TestPhone/1.0"})
    assert r.status_code == 200, r.text
    nina = member_by_email(engine, "nina@example.com")
    assert (nina.kind, nina.sponsor_id, nina.referrer_id) == ("distributor", world.ann,
                                                              world.cory)
    with transaction(engine) as s:
        accepted = s.scalar(select(AgreementAcceptance).where(
            AgreementAcceptance.member_id == nina.id))
        assert accepted is not None and accepted.version == "2026-3"
        assert accepted.user_agent == "TestPhone/1.0" and accepted.ip
        assert accepted.accepted_at == NOW
        order = s.scalar(select(Order).where(Order.buyer_id == nina.id))
        assert order is not None and order.source == "enrollment"
        assert set(s.scalars(select(OrderLine.volume_kind).where(
            OrderLine.order_id == order.id))) == {"promotional"}


def test_enroll_without_a_pack_charges_nothing(engine: Engine, world: World) -> None:
    client = TestClient(app(engine))
    client.get(f"/join/{code_of(engine, world.ben)}")
    r, _ = pay(client, "enroll", agreement="yes", pack="")
    assert r.status_code == 200, r.text
    nina = member_by_email(engine, "nina@example.com")
    assert (nina.kind, nina.sponsor_id) == ("distributor", world.ben)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.buyer_id == nina.id)) == 0
        assert s.scalar(select(func.count()).select_from(SimulatedCharge)) == 0


def test_every_field_is_checked_with_its_reason_next_to_it(engine: Engine,
                                                          world: World) -> None:
    client = TestClient(app(engine))
    fill_cart(client, ("TEA", 1))
    r, _ = pay(client, "autoship", email="not an email", country="MX", city="",
               autoship_day="31", phone="call me")
    assert r.status_code == 400
    errors = dict(re.findall(r'<p class="error field-error" id="e-(\w+)">([^<]+)</p>', r.text))
    assert set(errors) == {"email", "country", "city", "autoship_day", "phone"}
    assert errors["country"] == "choose one of the countries this shop delivers to"
    assert "1 to 28" in errors["autoship_day"]
    assert 'value="not an email"' in r.text  # what was typed is kept
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Checkout)) == 0


def test_a_phone_or_postal_code_refused_at_enrolment_is_refused_before_the_charge(
        engine: Engine, world: World) -> None:
    """The phone and the address are checked as the enrolment checks them, before the card is
    charged: nothing is charged for a checkout that could not be written."""
    web = app(engine)
    client = TestClient(web)
    fill_cart(client, ("TEA", 1))
    r, _ = pay(client, phone="+1 555 000 0000", postal_code="ABCDE")
    assert r.status_code == 400
    errors = dict(re.findall(r'<p class="error field-error" id="e-(\w+)">([^<]+)</p>', r.text))
    assert set(errors) == {"phone", "postal_code"}
    assert "is not a valid phone number in US" in html.unescape(errors["phone"])
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Checkout)) == 0
        assert s.scalar(select(func.count()).select_from(SimulatedCharge)) == 0


def test_a_flat_tax_is_added_to_the_charge(engine: Engine, world: World) -> None:
    client = TestClient(app(engine, shop_tax_rates="US=500,US-IL=625"))
    fill_cart(client, ("TEA", 1))
    r, key = pay(client)
    assert r.status_code == 200, r.text
    with transaction(engine) as s:
        row = s.scalar(select(Checkout).where(Checkout.key == f"shop:{key}"))
        assert row is not None and (row.subtotal, row.tax, row.total) == (2500, 156, 2656)
        charge = s.scalar(select(SimulatedCharge).where(SimulatedCharge.key == f"shop:{key}"))
        assert charge is not None and charge.amount == 2656
        order = s.get(Order, row.order_id)
        assert order is not None and order.total == 2500  # tax is not sales volume


def test_a_customer_passes_on_a_lead_who_then_joins(engine: Engine, world: World) -> None:
    cory = TestClient(app(engine))
    assert sign_in(cory, EMAILS["customer"]).status_code == 303
    page = cory.get("/share")
    assert page.status_code == 200 and "/join/" in page.text and "<svg" in page.text
    csrf = csrf_of(page.text)
    bad = cory.post("/share/lead", data={"csrf_token": csrf, "lead_name": "Aunt May"})
    assert bad.status_code == 400 and "email address or a phone number" in bad.text
    ok = cory.post("/share/lead", data={"csrf_token": csrf, "lead_name": "Nina Novak",
                                        "lead_email": "NINA@example.com"})
    assert ok.status_code == 200 and "We passed Nina Novak on" in ok.text
    with transaction(engine) as s:
        lead = s.scalar(select(Lead))
        assert lead is not None and lead.owner_id == world.ann
        contact = s.get(Contact, lead.contact_id)
        task = s.get(Touch, lead.touch_id)
        assert contact is not None and contact.owner_id == world.ann
        assert task is not None and (task.channel, task.owner_id) == ("task", world.ann)
        assert "Nina Novak" in task.summary
    visitor = TestClient(app(engine))  # Nina comes without a link
    fill_cart(visitor, ("TEA", 1))
    assert pay(visitor)[0].status_code == 200
    nina = member_by_email(engine, "nina@example.com")
    assert nina.referrer_id == world.cory
    with transaction(engine) as s:
        lead = s.scalar(select(Lead))
        assert lead is not None and lead.joined_member_id == nina.id


def test_the_share_page_shows_the_distributors_link(engine: Engine, world: World) -> None:
    ann = TestClient(app(engine))
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303
    page = ann.get("/share")
    code = code_of(engine, world.ann)
    assert f"http://testserver/join/{code}" in page.text and "<svg" in page.text
    assert code_of(engine, world.ann) == code  # stable
    assert 'href="/share"' in ann.get("/today").text
    cory = TestClient(app(engine))
    assert sign_in(cory, EMAILS["customer"]).status_code == 303
    assert f"/join/{code_of(engine, world.cory)}" in cory.get("/me").text



def test_two_concurrent_submits_of_one_key_make_one_order(engine: Engine, world: World) -> None:
    """A double click that reaches the server twice at once: both see the same charge answer,
    one writes, the other shows the first one's confirmation."""
    from concurrent.futures import ThreadPoolExecutor

    from patronage.autoship.gateway import SimulatedGateway
    from patronage.shop.checkout import CheckoutForm, ShopRules, Visitor, checkout
    from patronage.shop.core.tax import FlatRateTax

    code = code_of(engine, world.ben)
    form = CheckoutForm(key="k" * 20, plan="once", **ADDRESS)
    rules = ShopRules(tax=FlatRateTax({}), company_zone="UTC")
    gateway = SimulatedGateway(engine, decline_rate=0.0)

    def submit(_: int) -> Any:
        return checkout(engine, form, {"SHAKE": 1}, Visitor(code=code), gateway, rules,
                        now=NOW)

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(submit, range(2)))
    assert done[0].order_id == done[1].order_id is not None
    assert sorted(d.created for d in done) in ([False, True], [True, True])
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.idempotency_key == f"shop:{'k' * 20}")) == 1
        assert s.scalar(select(func.count()).select_from(Member).where(
            Member.email == "nina@example.com")) == 1
        assert s.scalar(select(func.count()).select_from(SimulatedCharge)) == 1


def test_the_confirmation_email_names_the_order_and_its_products(engine: Engine,
                                                                 world: World) -> None:
    from patronage.care.content import build_context, default_templates

    client = TestClient(app(engine))
    fill_cart(client, ("SHAKE", 1), ("TEA", 1))
    assert pay(client)[0].status_code == 200
    nina = member_by_email(engine, "nina@example.com")
    with transaction(engine) as s:
        touch = s.scalar(select(Touch).where(Touch.member_id == nina.id))
        assert touch is not None
        email = default_templates().email(touch.template, build_context(
            s, touch, NOW, settings=settings()))
    assert email.subject == "Your order is confirmed"
    assert f"order no. {touch.occasion_key} of Daily shake and Herbal tea" in email.text
