"""The shop in real Chromium on a phone (390 px): a prospect opens a share link, buys once,
starts an autoship, or signs up as a distributor; each flow ends on the owner, referrer, order,
volume kind and charge in the database. Screenshots at phone and desktop width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from patronage.db.autoship import SimulatedCharge, Subscription
from patronage.db.engine import transaction
from patronage.db.shop import AgreementAcceptance, Checkout
from patronage.db.tables import Member, Order, OrderLine
from tests.e2e.conftest import PHONE, Site, screenshot
from tests.e2e.test_browser_flows import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect.set_options(timeout=15_000)


@pytest.fixture
def context(browser: Any, site: Site) -> Iterator[Any]:
    ctx = browser.new_context(viewport=PHONE, base_url=site.url)
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def share_path(context: Any, role: str) -> str:
    """Sign in as ``role`` and read the share link off their page (as they would copy it)."""
    page = context.new_page()
    sign_in(page, role)
    page.goto("/share")
    link = page.get_by_label("Your link", exact=True).input_value()
    expect(page.locator(".qr svg")).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, f"share-{role}")
    page.close()
    found = re.search(r"/join/\w+$", link)
    assert found, link
    return found.group(0)


def fill_address(page: Any, first: str, email: str) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Shopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Phone").fill("+1 312 555 0123")
    page.get_by_label("Street and number").fill("12 Elm Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("State or region").fill("IL")
    page.get_by_label("Postal code").fill("62704")
    page.get_by_label("Country").select_option("US")


def the(site: Site, email: str) -> tuple[Member, Order, list[str], SimulatedCharge | None]:
    with transaction(site.engine) as s:
        member = s.scalar(select(Member).where(Member.email == email))
        assert member is not None
        order = s.scalar(select(Order).where(Order.buyer_id == member.id))
        assert order is not None
        kinds = sorted(set(s.scalars(select(OrderLine.volume_kind).where(
            OrderLine.order_id == order.id))))
        charge = s.scalar(select(SimulatedCharge).where(
            SimulatedCharge.key == order.idempotency_key))
        s.expunge_all()
        return member, order, kinds, charge


def test_a_prospect_opens_a_distributors_link_and_buys_once(browser: Any, site: Site,
                                                          context: Any) -> None:
    path = share_path(browser.new_context(viewport=PHONE, base_url=site.url), "distributor")
    page = context.new_page()
    page.goto(path)
    page.wait_for_url("**/shop")
    expect(page.get_by_text("Welcome! Ann invited you.")).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "shop-catalog")
    page.get_by_label("Quantity of Daily shake").fill("2")
    page.get_by_role("button", name="Add Daily shake").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("link", name="Buy once").click()
    page.wait_for_url("**/shop/checkout?plan=once")
    page.get_by_role("button", name=re.compile("^Pay")).click()  # nothing filled in
    expect(page.locator("#e-first_name")).to_have_text("your first name is needed")
    fill_address(page, "Olive", "olive@example.com")
    no_sideways_scroll(page)
    screenshot(page, "shop-checkout")
    page.get_by_role("button", name="Pay $120.00").click()
    expect(page.get_by_role("heading", name="Thank you, Olive!")).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "shop-done")
    member, order, kinds, charge = the(site, "olive@example.com")
    assert (member.kind, member.owner_id, member.referrer_id) == ("retail", site.world.ann,
                                                                  None)
    assert (order.source, order.total, kinds) == ("one_time", 12000, ["consumption"])
    assert charge is not None and charge.approved and charge.amount == 12000


def test_a_friend_of_a_customer_starts_an_autoship(browser: Any, site: Site,
                                                   context: Any) -> None:
    path = share_path(browser.new_context(viewport=PHONE, base_url=site.url), "customer")
    page = context.new_page()
    page.goto(path)
    expect(page.get_by_text("Welcome! Cory invited you.")).to_be_visible()
    page.get_by_role("button", name="Add Herbal tea").click()
    page.get_by_role("link", name="Start an autoship").click()
    page.wait_for_url("**/shop/checkout?plan=autoship")
    expect(page.get_by_label("Autoship: delivered every month at the member price")).to_be_checked()
    page.get_by_label("Autoship day of the month (1–28)").fill("12")
    fill_address(page, "Pia", "pia@example.com")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.get_by_text("Your autoship is set up.")).to_be_visible()
    member, order, kinds, charge = the(site, "pia@example.com")
    w = site.world
    assert (member.kind, member.owner_id, member.referrer_id) == ("preferred", w.ann, w.cory)
    assert (order.source, order.total, kinds) == ("autoship", 2000, ["consumption"])
    assert charge is not None and charge.amount == 2000
    with transaction(site.engine) as s:
        sub = s.scalar(select(Subscription).where(Subscription.member_id == member.id))
        assert sub is not None and sub.day_of_month == 12 and order.subscription_id == sub.id


def test_a_prospect_signs_up_as_a_distributor(browser: Any, site: Site, context: Any) -> None:
    path = share_path(browser.new_context(viewport=PHONE, base_url=site.url), "distributor")
    page = context.new_page()
    page.goto(path)
    page.get_by_role("link", name="Or join as a distributor").click()
    page.wait_for_url("**/shop/checkout?plan=enroll")
    page.get_by_label("Starter pack").check()
    fill_address(page, "Quinn", "quinn@example.com")
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#e-agreement")).to_contain_text("accept the distributor agreement")
    page.get_by_label(re.compile("I have read and accept")).check()
    screenshot(page, "shop-enroll")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Welcome aboard: you are now a distributor.")).to_be_visible()
    member, order, kinds, charge = the(site, "quinn@example.com")
    assert (member.kind, member.sponsor_id) == ("distributor", site.world.ann)
    assert (order.source, order.total, kinds) == ("enrollment", 15000, ["promotional"])
    assert charge is not None and charge.amount == 15000
    with transaction(site.engine) as s:
        accepted = s.scalar(select(AgreementAcceptance).where(
            AgreementAcceptance.member_id == member.id))
        assert accepted is not None and accepted.version == "2026-1"
        assert accepted.ip == "127.0.0.1" and "Chrom" in accepted.user_agent
        assert s.scalar(select(Checkout.total).where(Checkout.member_id == member.id)) == 15000
