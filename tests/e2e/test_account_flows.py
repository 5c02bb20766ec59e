"""The customer's and the staff's jobs in real Chromium at 390 px: skip and undo, swap one item,
pause and resume, cancel and restart, see orders; find a member by phone, open a committed run.
Each job ends on the right data in the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.db.tables import Member
from tests.e2e.conftest import PHONE, Site, screenshot
from tests.e2e.world import EMAILS, NOW, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect.set_options(timeout=15_000)


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Any, role: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(EMAILS[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sub(site: Site) -> tuple[str, str, dict[str, int]]:
    with transaction(site.engine) as s:
        sub = s.get(Subscription, site.world.cory_sub)
        assert sub is not None
        items = {i.sku: i.quantity for i in s.scalars(select(SubscriptionItem).where(
            SubscriptionItem.subscription_id == sub.id))}
        return sub.status, str(sub.next_run), items


def test_customer_manages_the_autoship_in_place_and_sees_orders(page: Any, site: Site) -> None:
    sign_in(page, "customer")
    page.wait_for_url("**/me")
    box = page.locator("#autoship")
    expect(box.locator(".next-run")).to_have_text("November 10, 2026")
    expect(box.locator(".next-total")).to_have_text("$60.00")

    # Skip, then undo: in place (htmx keeps the page; the address stays /me).
    box.get_by_role("button", name="Skip next delivery").click()
    expect(page.locator("#autoship .next-run")).to_have_text("December 10, 2026")
    expect(page.locator("#autoship [role=status]")).to_contain_text("Skipped.")
    assert page.url.endswith("/me")
    assert _sub(site)[1] == "2026-12-10"
    page.locator("#autoship").get_by_role("button", name="Undo skip").click()
    expect(page.locator("#autoship .next-run")).to_have_text("November 10, 2026")
    assert _sub(site)[1] == "2026-11-10"

    # Swap the one item for another product, with a new quantity.
    page.locator("#autoship summary", has_text="Swap a product").click()
    page.get_by_label("with", exact=True).select_option(label="Herbal tea")
    page.get_by_label("Quantity (optional)").fill("2")
    page.locator("#autoship").get_by_role("button", name="Swap", exact=True).click()
    expect(page.locator("#autoship .product")).to_have_text("2 × Herbal tea")
    expect(page.locator("#autoship .next-total")).to_have_text("$50.00")
    assert _sub(site)[2] == {"TEA": 2}

    # Pause until February, then resume.
    page.locator("#autoship summary", has_text="Pause").click()
    page.get_by_label("Pause until").fill("2027-02-01")
    page.locator("#autoship form[action$='/pause']").get_by_role("button").click()
    expect(page.locator("#autoship .paused-until")).to_contain_text("February 1, 2027")
    assert _sub(site)[0] == "paused"
    page.locator("#autoship").get_by_role("button", name="Resume now").click()
    expect(page.locator("#autoship .next-run")).to_be_visible()
    assert _sub(site)[0] == "active"

    # Cancel in one step, then restart.
    page.locator("#autoship summary", has_text="Cancel autoship").click()
    page.get_by_label("Why are you leaving? (optional)").fill("trying something else")
    page.locator("#autoship").get_by_role("button", name="Cancel autoship").click()
    expect(page.locator("#autoship .status-cancelled")).to_be_visible()
    assert _sub(site)[0] == "cancelled"
    page.locator("#autoship").get_by_role("button", name="Restart autoship").click()
    expect(page.locator("#autoship [role=status]")).to_contain_text("Welcome back!")
    assert _sub(site)[0] == "active"

    # Orders: the September order with its product and total.
    orders = page.locator("#orders")
    expect(orders).to_contain_text("2 × Daily shake")
    expect(orders).to_contain_text("$120.00")
    screenshot(page, "account")


def test_staff_finds_a_member_by_phone_and_opens_a_committed_run(page: Any,
                                                                  site: Site) -> None:
    w = site.world
    with transaction(site.engine) as s:
        s.execute(update(Member).where(Member.id == w.zoe).values(phone="+13125550123",
                                                                  last_name="Quill"))
    run_id = commit_period(site.engine, Period(2026, 9), None, now=NOW, actor="test",
                           company_zone="UTC")
    sign_in(page, "staff")
    page.wait_for_url("**/company")
    page.goto("/company/members")
    page.get_by_label("Search members").fill("(312) 555-0123")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Zoe Quill").click()
    page.wait_for_url(f"**/company/members/{w.zoe}")
    expect(page.locator("h1")).to_have_text("Zoe Quill")
    expect(page.locator("#details")).to_contain_text("+13125550123")

    page.goto("/company/runs")
    page.get_by_role("link", name="2026-09").click()
    page.wait_for_url(f"**/company/runs/{run_id}")
    page.locator("#payees").get_by_role("link", name="Ann").click()
    expect(page.locator("#lines h2")).to_have_text("Lines paid to Ann")
    with transaction(site.engine) as s:
        lines = list(s.scalars(select(PayoutLine).where(PayoutLine.run_id == run_id,
                                                        PayoutLine.earner_id == w.ann)))
    assert lines
    expect(page.locator("#lines tbody tr")).to_have_count(len(lines))
    screenshot(page, "committed-run")
