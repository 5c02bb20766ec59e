"""The main flows in real Chromium: a distributor's day, a customer's self-service, a staff
member's commission close. Each leaves screenshots at phone and desktop width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.compensation import CommissionRun
from patronage.db.engine import transaction
from patronage.network.members import consents_in_force
from tests.e2e.conftest import PHONE, Site, screenshot
from tests.e2e.world import EMAILS, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
expect.set_options(timeout=15_000)  # as the pages' own default timeout below


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


def test_distributor_sees_tasks_opens_a_customer_and_marks_a_call_done(page: Any,
                                                                       site: Site) -> None:
    w = site.world
    page.goto("/today")
    assert "/login" in page.url
    screenshot(page, "login")
    sign_in(page, "distributor")
    page.wait_for_url("**/today")
    task = page.locator("ol.today li").filter(has_text="Cory")
    expect(task).to_have_count(1)
    expect(task).to_contain_text(re.compile("thank you for the first order", re.IGNORECASE))
    screenshot(page, "today")
    task.get_by_role("link", name="Cory", exact=True).click()
    page.wait_for_url(f"**/customers/{w.cory}")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    page.get_by_label("Add a note").fill("Called: loves the shake")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_url(f"**/customers/{w.cory}#notes")
    expect(page.get_by_text("Called: loves the shake")).to_be_visible()
    screenshot(page, "customer")
    page.goto("/today")
    page.get_by_role("button", name="Mark done: Cory").click()  # htmx swaps the row
    expect(page.get_by_text("Done — thank you.")).to_be_visible()
    with transaction(site.engine) as s:
        touch = s.get(Touch, w.ann_task)
        assert touch is not None and touch.status == "done"
    page.reload()
    expect(page.locator("ol.today li").filter(has_text="Cory")).to_have_count(0)
    for path, name in (("/customers", "customers"), ("/business", "business"),
                       ("/team", "team")):
        page.goto(path)
        screenshot(page, name)


def test_customer_skips_an_autoship_and_unsubscribes(page: Any, site: Site) -> None:
    w = site.world
    sign_in(page, "customer")
    page.wait_for_url("**/me")
    expect(page.locator(".next-run")).to_have_text("November 10, 2026")
    screenshot(page, "portal")
    page.get_by_role("button", name="Skip next delivery").click()
    expect(page.get_by_text("Skipped.")).to_be_visible()
    expect(page.locator(".next-run")).to_have_text("December 10, 2026")
    page.get_by_role("button", name="Unsubscribe from all emails").click()
    expect(page.get_by_text("You are unsubscribed from our emails.")).to_be_visible()
    with transaction(site.engine) as s:
        sub = s.get(Subscription, w.cory_sub)
        assert sub is not None and str(sub.next_run) == "2026-12-10"
        assert consents_in_force(s, w.cory)["email"] is False


def test_staff_previews_and_commits_a_commission_run(page: Any, site: Site) -> None:
    sign_in(page, "staff")
    page.wait_for_url("**/company")
    screenshot(page, "company")
    page.goto("/company/runs")
    page.get_by_label("Period (YYYY-MM, or YYYY-Www for a week)").fill("2026-09")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/company/runs/preview?period=2026-09")
    expect(page.locator(".total-paid")).to_have_text(re.compile(r"\S"))
    screenshot(page, "run-preview")
    page.get_by_label("I understand this locks 2026-09: payments can no longer change").check()
    page.get_by_role("button", name="Commit 2026-09").click()
    expect(page.get_by_text("Period 2026-09 is committed.")).to_be_visible()
    with transaction(site.engine) as s:
        assert list(s.scalars(select(CommissionRun.period))) == ["2026-09"]
    page.goto("/company/members?q=Co")
    screenshot(page, "members")
