"""Screenshots of every page for each role, at 390 px (a phone) and 1280 px, for review.

    .venv/bin/python tools/screenshots.py --out shots/            # a small seeded company
    .venv/bin/python tools/screenshots.py --url http://127.0.0.1:8000 --out shots/   # the demo

Without ``--url`` it seeds the browser tests' small company (staff, two distributors, their
customers, a committed September) in a temporary SQLite file and serves it itself; with
``--url`` it signs in to a running back office with the demo's sign-ins (``make demo``).
Each role's pages are its menu, the account page and the first detail page each list links to
(a customer, a member, an order, a committed run). Files are ``<role>-<page>-<width>.png``
(full length); the index ``index.html`` in the folder shows them side by side.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from html import escape
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS: dict[str, ViewportSize] = {"390": {"width": 390, "height": 844},
                                   "1280": {"width": 1280, "height": 800}}
DEMO = {
    "distributor": ("distributor@demo.patronage.example", "demo-distributor-2026"),
    "customer": ("customer@demo.patronage.example", "demo-customer-2026"),
    "staff": ("staff@demo.patronage.example", "demo-staff-2026"),
}
#: Detail pages: the first link of each kind found on a role's pages.
DETAILS = [re.compile(p) for p in (r"^/customers/\d+$", r"^/company/members/\d+$",
                                   r"^/company/orders/\d+$", r"^/company/runs/\d+$")]


def _serve_seeded() -> tuple[str, dict[str, tuple[str, str]]]:
    """The browser tests' world in a temporary SQLite file, served on a free port."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import socket

    import uvicorn
    from tests.e2e.world import EMAILS, NOW, PASSWORD, app_for, seed

    from patronage.clock import Period
    from patronage.compensation.runs import commit_period
    from patronage.db.engine import make_engine
    from patronage.db.schema import upgrade

    path = Path(tempfile.mkdtemp()) / "patronage.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="screenshots",
                  company_zone="UTC")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app_for(engine), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    roles = {r: (EMAILS[r], PASSWORD) for r in ("distributor", "customer", "staff")}
    return f"http://127.0.0.1:{port}", roles


def sign_in(page: Page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def pages_of(page: Page, url: str) -> list[str]:
    """The role's menu, the account page, then the first detail page of each kind."""
    hrefs: list[str] = page.eval_on_selector_all("nav.wide a", "els => els.map(e => "
                                                 "e.getAttribute('href'))")
    paths = list(dict.fromkeys([*hrefs, "/account"]))
    found: list[str] = []
    for path in list(paths):
        page.goto(f"{url}{path}")
        links: list[Any] = page.eval_on_selector_all(
            "main a[href]", "els => els.map(e => e.getAttribute('href').split('?')[0])")
        for pattern in DETAILS:
            if any(pattern.match(f) for f in found):
                continue
            match = next((h for h in links if pattern.match(h)), None)
            if match:
                found.append(match)
    return paths + found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running back office with the demo's sign-ins")
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    url, roles = (args.url.rstrip("/"), DEMO) if args.url else _serve_seeded()
    args.out.mkdir(parents=True, exist_ok=True)
    made: list[tuple[str, str, dict[str, str]]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for role, (email, password) in roles.items():
            context = browser.new_context(viewport=WIDTHS["390"], device_scale_factor=1)
            page = context.new_page()
            sign_in(page, url, email, password)
            for path in pages_of(page, url):
                name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                files = {}
                for width, viewport in WIDTHS.items():
                    page.set_viewport_size(viewport)
                    page.goto(f"{url}{path}")
                    page.wait_for_load_state("networkidle")
                    file = f"{role}-{name}-{width}.png"
                    page.screenshot(path=str(args.out / file), full_page=True)
                    files[width] = file
                made.append((role, path, files))
                print(role, path)
            context.close()
        browser.close()
    rows = "".join(
        f"<h2>{escape(role)} {escape(path)}</h2><div class=row>"
        + "".join(f'<img src="{escape(f)}" alt="{escape(path)} at {w} px">'
                  for w, f in files.items()) + "</div>" for role, path, files in made)
    (args.out / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Screenshots</title><style>.row{display:flex;"
        "gap:16px;align-items:flex-start}img{border:1px solid #ccc}.row img:first-child"
        "{width:390px}.row img:last-child{width:800px}</style>" + rows, encoding="utf-8")
    print(f"{len(made)} pages × {len(WIDTHS)} widths in {args.out}")


if __name__ == "__main__":
    main()
