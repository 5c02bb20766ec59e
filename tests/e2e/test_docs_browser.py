"""``/docs`` in a real browser: Swagger UI draws every operation from the files the package
ships, under the page's own Content-Security-Policy, and asks no other site for anything."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import Site


def test_docs_render_offline_under_their_policy(site: Site, browser: Any) -> None:
    page = browser.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{site.url}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 40  # every operation of the API
    assert page.locator("button.authorize").count() == 1
    here = urlsplit(site.url).netloc
    assert {urlsplit(u).netloc for u in requested if not u.startswith("data:")} == {here}
    assert problems == []
    page.close()
