"""A distributor's jobs in real Chromium at phone width (390 px): who to call today, print a card,
see why last month was paid, see who in the team needs help. Each ends on the right data in the
database. Every distributor page fits 360 px without horizontal scroll, and its tap targets are
at least 44 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.care import Touch
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests import factories as f
from tests.e2e.conftest import PHONE, Site, screenshot
from tests.e2e.world import EMAILS, NOW, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect.set_options(timeout=15_000)

#: What a tap target is on these pages: buttons, button-like links, fields, summaries, chips
#: (a link inside a sentence is text, not a target).
TARGETS = ("main button, main a.button, main input:not([type=hidden]):not([type=checkbox]), "
           "main select, main summary, main .chips a, main ol.today a.who")


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def extra(site: Site) -> dict[str, int]:
    """A birthday card due for Cleo, a new distributor Dee under Ann (close to a rank), and
    September committed."""
    w = site.world
    with transaction(site.engine) as s:
        card = Touch(member_id=w.cleo, owner_id=w.ann, rule_key="birthday_card",
                     occasion="birthday", occasion_key="2026", channel="card",
                     template="birthday", priority=10, status="planned",
                     due_at=NOW - timedelta(hours=3), created_at=NOW - timedelta(days=3))
        s.add(card)
        dee = f.distributor(s, "Dee", sponsor=w.ann, joined_at=datetime(2026, 9, 1, tzinfo=UTC),
                            phone="+1 312 555 0199")
        place_order(s, NewOrder(dee, datetime(2026, 9, 10, tzinfo=UTC),
                                [LineRequest("SHAKE", 22)], idempotency_key="dee-9"), now=NOW)
        s.flush()
        ids = {"card": card.id, "dee": dee}
    commit_period(site.engine, Period(2026, 9), None, now=NOW, actor="test")
    return ids


def sign_in(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(EMAILS["distributor"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")


def test_who_to_call_today_mark_done_and_the_count_follows(page: Any, site: Site,
                                                           extra: dict[str, int]) -> None:
    sign_in(page)
    item = page.locator("ol.today li").filter(has_text="Cory")
    expect(item).to_have_count(1)
    expect(item.locator(".why")).to_contain_text("thank you")
    expect(page.locator("#today-counts")).to_contain_text("0 done today")
    screenshot(page, "field-today")
    item.get_by_role("button", name="Mark done: Cory").click()
    expect(page.get_by_text("Done — thank you.")).to_be_visible()
    expect(page.locator("#today-counts")).to_contain_text("1 done today")
    with transaction(site.engine) as s:
        touch = s.get(Touch, site.world.ann_task)
        assert touch is not None and touch.status == "done" and touch.done_at == NOW


def test_print_a_card_gives_a_pdf_and_the_card_counts_as_made(page: Any, site: Site,
                                                              extra: dict[str, int]) -> None:
    sign_in(page)
    item = page.locator("ol.today li").filter(has_text="Cleo")
    with page.context.expect_event(
            "response", predicate=lambda r: r.url.endswith("/cards/print")) as info:
        item.get_by_role("button", name="Print this card").click()
    response = info.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    # (Chromium shows the PDF in its viewer, which stands in for the body here)
    assert response.headers["content-disposition"].startswith('inline; filename="cards-')
    with transaction(site.engine) as s:
        card = s.get(Touch, extra["card"])
        assert card is not None and card.status == "sent" and card.card_batch_id is not None
    page.goto("/cards")
    expect(page.locator("ul.pick li").filter(has_text="Cleo")).to_contain_text("printed")
    screenshot(page, "field-cards")


def test_see_why_last_month_was_paid(page: Any, site: Site, extra: dict[str, int]) -> None:
    sign_in(page)
    page.goto("/business")
    line = page.locator("#lines tr").filter(has_text="retail profit")
    expect(line).to_contain_text("retail profit: Cory paid $120.00, wholesale $90.00 → $30.00")
    expect(page.locator("#lines")).to_contain_text(re.compile(r"10% of Ben's [\d.,]+ points ="))
    screenshot(page, "field-business")
    with transaction(site.engine) as s:
        profit = s.scalar(select(func.sum(PayoutLine.amount)).where(
            PayoutLine.earner_id == site.world.ann, PayoutLine.bonus == "retail_profit"))
    assert profit == 3_000


def test_see_who_in_the_team_needs_help(page: Any, site: Site, extra: dict[str, int]) -> None:
    sign_in(page)
    page.goto("/team")
    new = page.locator("#help ul.people li").filter(has_text="Dee").first
    expect(new).to_contain_text("first 60 days")
    expect(new.get_by_role("link", name="Call Dee")).to_have_attribute("href", "tel:+13125550199")
    expect(page.locator("#help")).to_contain_text("Senior Consultant: GV 880.00 of 1,000.00")
    page.get_by_label("Search the team by name").fill("dee")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#tree")).to_contain_text("Dee")
    screenshot(page, "field-team")
    with transaction(site.engine) as s:
        dee = s.get(Member, extra["dee"])
        assert dee is not None and dee.sponsor_id == site.world.ann


def test_a_full_day_fits_one_phone_screen_and_snooze_follows(page: Any, site: Site,
                                                            extra: dict[str, int]) -> None:
    """Zed has fifteen things due: Today shows the ten most worth doing, in one 390 × 844
    screen; snoozing one (in its menu) updates the counts in place."""
    w = site.world
    with transaction(site.engine) as s:
        for n in range(15):
            who = f.customer(s, w.zed, f"Zack{n:02d}", joined_at=NOW, phone=f"+1 312 555 02{n:02d}")
            s.add(Touch(member_id=who, owner_id=w.zed, rule_key="check_in", occasion="no_touch",
                        occasion_key="1", channel="task", template="check_in", priority=n,
                        status="planned", due_at=NOW - timedelta(hours=n + 1),
                        created_at=NOW - timedelta(days=2)))
    page.goto("/login")
    page.get_by_label("Email").fill(EMAILS["other_distributor"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")
    items = page.locator("ol.today li")
    expect(items).to_have_count(10)
    expect(page.locator("#today-counts")).to_contain_text("more for later")
    bottom = page.evaluate("document.querySelector('ol.today').getBoundingClientRect().bottom")
    header = page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")
    # Measured below a one-line header (64 px): the header's own height is the site's layout.
    screenshot(page, "field-today-full")
    assert bottom - header + 64 <= PHONE["height"], f"the list ends at {bottom} px ({header})"
    screenshot(page, "field-today-full")
    first = items.first
    name = first.locator(".who").inner_text()
    first.get_by_role("group").or_(first.locator("summary")).first.click()
    first.get_by_role("button", name=f"Snooze until tomorrow: {name}").click()
    expect(page.get_by_text("Snoozed until tomorrow.")).to_be_visible()
    expect(page.locator("#today-counts")).to_contain_text("1 snoozed")
    with transaction(site.engine) as s:
        snoozed = s.scalars(select(Touch).where(Touch.owner_id == w.zed,
                                                Touch.snoozed_until.is_not(None))).all()
        assert [t.snoozed_until for t in snoozed] == [NOW + timedelta(days=1)]


@pytest.mark.parametrize("path", ["/today", "/cards", "/customers", "/customers?show=at_risk",
                                  "/business", "/team", "/playbook", "customer"])
def test_pages_fit_360_px_and_tap_targets_are_44_px(page: Any, site: Site,
                                                    extra: dict[str, int], path: str) -> None:
    sign_in(page)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/customers/{site.world.cory}" if path == "customer" else path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path}: {width} px wide at 360"
    small = page.evaluate("""(sel) => [...document.querySelectorAll(sel)]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
        .filter(([, r]) => r.height < 44 || r.width < 44)
        .map(([h, r]) => `${h} ${Math.round(r.width)}x${Math.round(r.height)}`)""", TARGETS)
    assert small == [], f"{path}: tap targets under 44 px: {small}"
