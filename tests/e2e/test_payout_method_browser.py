"""The payout method page in real Chromium at 360 px: no sideways scrolling, tap targets of
44 px, a refused routing number shown under its field, then a method saved and masked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Site, screenshot
from tests.e2e.world import EMAILS, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NARROW = {"width": 360, "height": 780}


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport=NARROW, base_url=site.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_payout_method_page_on_a_phone(page: Any, site: Site) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(EMAILS["distributor"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")
    page.locator("details.menu summary").click()  # on a phone the pages are in the menu
    page.get_by_role("link", name="Payout method").click()
    page.wait_for_url("**/payout-method")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    small = page.evaluate("""() => [...document.querySelectorAll(
        'main button, main input:not([type=hidden]), main select, main summary')]
        .filter(e => e.offsetParent !== null)
        .filter(e => e.getBoundingClientRect().height < 44).map(e => e.outerHTML)""")
    assert small == []
    page.get_by_label("Account holder's name").fill("Ann Example")
    page.get_by_label("Routing number (9 digits)").fill("021000022")
    page.get_by_label("Account number").fill("123456789")
    page.get_by_role("button", name="Save the payout method").click()
    expect(page.locator("#err-routing_number")).to_have_text(
        "the routing number's check digit is wrong")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("Routing number (9 digits)").fill("021000021")
    page.get_by_label("Account number").fill("123456789")
    page.get_by_role("button", name="Save the payout method").click()
    expect(page.get_by_text("US bank account •••• 6789")).to_be_visible()
    screenshot(page, "payout-method")
