"""Team playbooks in real Chromium at phone width: a leader (Ann) turns a rule off and shares
her playbook, a team member (Ben) adopts it in a tap, and the next tick plans Ben's customer by
it while another distributor's customer is still planned by the company's rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from patronage.care.tick import tick
from patronage.db.care import Touch
from patronage.db.care_playbooks import Adoption, Playbook
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.web.accounts import create_account
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


@pytest.fixture(scope="module")
def team(site: Site) -> None:
    """Ben can sign in; his customer Bea and Zed's customer Zoe have their birthday today."""
    w = site.world
    with transaction(site.engine) as s:
        create_account(s, email="ben@example.com", password=PASSWORD, role="distributor",
                       member_id=w.ben, now=NOW)
        for who in (w.bea, w.zoe):
            member = s.get(Member, who)
            assert member is not None
            member.birth_month, member.birth_day = NOW.month, NOW.day


def _sign_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/today")


def test_leader_shares_member_adopts_next_tick_plans_by_it(browser: Any, page: Any,
                                                           site: Site, team: None) -> None:
    w = site.world
    _sign_in(page, EMAILS["distributor"])
    page.goto("/playbook")
    expect(page.locator("#mine h2")).to_have_text("The company's rules")
    call = page.locator("#mine ul.pick li").filter(has_text="birthday · task")
    call.get_by_role("checkbox").uncheck()
    page.get_by_role("button", name="Save my playbook").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("#mine h2")).to_have_text("Ann's playbook")
    page.get_by_role("button", name="Share with my team").click()
    expect(page.get_by_role("status")).to_contain_text("Shared with your team")
    # Ann words her birthday email: a health claim is refused next to the field
    wording = page.locator("#wording-birthday-email")
    wording.locator("summary").click()
    wording.get_by_label("Subject").fill("Many happy returns, {{ member.first_name }}!")
    wording.get_by_label("Message").fill("Our tea cures everything.\n{{ signer }}")
    wording.get_by_role("button", name="Save this wording").click()
    expect(page.locator("#err-birthday-email-body")).to_contain_text("health claim 'cures'")
    page.locator("#wording-birthday-email").get_by_label("Message").fill(
        "Thinking of you today.\n{{ signer }}")
    page.locator("#wording-birthday-email").get_by_role("button",
                                                         name="Save this wording").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: this wording")
    screenshot(page, "field-playbook-leader")

    ben = browser.new_context(viewport=PHONE, base_url=site.url).new_page()
    _sign_in(ben, "ben@example.com")
    ben.goto("/playbook")
    shared = ben.locator("#offered li").filter(has_text="Ann's playbook")
    expect(shared).to_contain_text("Ann")
    shared.get_by_role("button", name="Adopt Ann's playbook").click()
    expect(ben.get_by_role("status")).to_contain_text("Adopted")
    expect(ben.locator("#mine")).to_contain_text("Your copy of “Ann's playbook”")
    expect(ben.locator("#mine ul.pick li").filter(has_text="birthday · task")
           .get_by_role("checkbox")).not_to_be_checked()
    expect(ben.locator("#wording-birthday-email summary")).to_contain_text("your wording")
    screenshot(ben, "field-playbook-member")
    ben.context.close()

    with transaction(site.engine) as s:
        adoption = s.get(Adoption, w.ben)
        assert adoption is not None
        copy = s.get(Playbook, adoption.playbook_id)
        assert copy is not None and copy.author_id == w.ben and copy.based_on_id is not None
    tick(site.engine, NOW)
    with transaction(site.engine) as s:
        made = {(t.member_id, t.rule_key) for t in s.scalars(select(Touch).where(
            Touch.rule_key == "birthday_call"))}
    assert (w.zoe, "birthday_call") in made  # Zed follows the company's rules
    assert (w.bea, "birthday_call") not in made  # Ben follows Ann's playbook
