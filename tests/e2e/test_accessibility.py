"""Every page for each role in real Chromium at 360 px: axe-core (vendored in ``vendor/``, MPL
2.0) finds no serious or critical WCAG 2.2 A/AA violation, nothing scrolls sideways, the header
is one line, and the controls are at least 44 px tall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order
from tests.e2e.conftest import Site
from tests.e2e.world import EMAILS, NOW, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
NARROW = {"width": 360, "height": 740}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

#: What a page must not have, measured in the browser: sideways scrolling, a header taller
#: than one line, and controls under 44 px (inline links in text are exempt, as in WCAG).
LAYOUT = """() => {
  const small = [];
  for (const el of document.querySelectorAll(
      'button, summary, select, input:not([type=hidden]):not([type=checkbox]), .top a, '
      + 'a.button, .pager a')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not shown
    if (r.height < 43.5) small.push(el.outerHTML.slice(0, 80) + ' ' + r.height);
  }
  const wide = [...document.querySelectorAll('main *')].filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 1
      && !e.closest('.table-wrap')).slice(-1).map(e => e.outerHTML.slice(0, 160));
  return {scroll: document.documentElement.scrollWidth, wide,
          header: document.querySelector('header.top').getBoundingClientRect().height,
          small};
}"""


@pytest.fixture(scope="module")
def committed(site: Site) -> int:
    run = commit_period(site.engine, Period(2026, 9), None, now=NOW, actor="test",
                        company_zone="UTC")
    return int(run)


@pytest.fixture
def context(browser: Any, site: Site) -> Iterator[Any]:
    ctx = browser.new_context(viewport=NARROW, base_url=site.url, bypass_csp=True)
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def _pages(site: Site, run: int) -> dict[str, list[str]]:
    w = site.world
    with transaction(site.engine) as s:
        order = s.scalar(select(Order.id).where(Order.buyer_id == w.cory))
        s.execute(update(Member).where(Member.id == w.zoe).values(phone="+15550102030"))
    return {
        "anonymous": ["/login", "/password/forgot", f"/s/{w.token('survey')}"],
        "customer": ["/me", "/account"],
        "distributor": ["/today", "/customers", f"/customers/{w.cory}", "/business", "/team",
                        "/playbook", "/account"],
        "staff": ["/company", "/company/members?q=Co", "/company/members?q=5550102030",
                  f"/company/members/{w.ann}", f"/company/members/{w.cory}",
                  "/company/orders", f"/company/orders/{order}", "/company/runs",
                  f"/company/runs/{run}", f"/company/runs/{run}?payee={w.ann}",
                  "/company/runs/preview?period=2026-10", "/company/autoship",
                  "/company/care", "/company/imports", "/company/jobs", "/company/audit",
                  "/account"],
    }


def _sign_in(page: Any, role: str) -> None:
    if role == "anonymous":
        return
    page.goto("/login")
    page.get_by_label("Email").fill(EMAILS[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("role", ["anonymous", "customer", "distributor", "staff"])
def test_every_page_passes_axe_and_fits_a_phone(context: Any, site: Site, committed: int,
                                                role: str) -> None:
    page = context.new_page()
    _sign_in(page, role)
    problems: list[str] = []
    for path in _pages(site, committed)[role]:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("""async (tags) => {
          const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
          return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }""", TAGS)
        problems += [f"{role} {path} axe {v}" for v in found]
        layout = page.evaluate(LAYOUT)
        if layout["scroll"] > NARROW["width"]:
            problems.append(f"{role} {path}: {layout['scroll']} px wide at 360 px: "
                            f"{layout['wide']}")
        if layout["header"] > 64:
            problems.append(f"{role} {path}: header {layout['header']} px tall")
        problems += [f"{role} {path}: small target {s}" for s in layout["small"]]
    assert problems == [], "\n".join(problems)
