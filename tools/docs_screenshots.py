"""Screenshots of the demo company's back office for the README and the documentation site.

    make demo &    # builds the demo company, makes its sign-ins and serves it at :8000
    .venv/bin/python tools/docs_screenshots.py [--url http://127.0.0.1:8000] [--out docs/images]

Signs in as the demo's distributor, customer and staff member in Chromium (``/usr/bin/chromium``,
driven by Playwright, as the browser tests do) and saves the first screen of a few pages as PNG:
in a few colours, to keep the repository small.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SIGN_INS = {
    "distributor": ("distributor@demo.patronage.example", "demo-distributor-2026"),
    "customer": ("customer@demo.patronage.example", "demo-customer-2026"),
    "staff": ("staff@demo.patronage.example", "demo-staff-2026"),
}
#: (role, viewport, path, file name)
SHOTS = [
    ("distributor", PHONE, "/today", "today-phone.png"),
    ("distributor", PHONE, "/customers", "customers-phone.png"),
    ("distributor", DESKTOP, "/business", "business-desktop.png"),
    ("customer", PHONE, "/me", "account-phone.png"),
    ("staff", DESKTOP, "/company/autoship", "autoship-desktop.png"),
]


def sign_in(page: Page, url: str, role: str) -> None:
    email, password = SIGN_INS[role]
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def shrink(path: Path) -> None:
    """The screenshot in 64 colours: a few tens of kilobytes, still sharp for flat pages."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for role in SIGN_INS:
            context = browser.new_context(viewport=PHONE, device_scale_factor=1)
            page = context.new_page()
            sign_in(page, args.url, role)
            for who, viewport, path, name in SHOTS:
                if who != role:
                    continue
                page.set_viewport_size(viewport)
                page.goto(f"{args.url}{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out / name))
                shrink(args.out / name)
                print(args.out / name)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
