"""Browser tests: the back office served by uvicorn on a free local port, against a small seeded
SQLite database, driven in Debian's Chromium through Playwright.

Without /usr/bin/chromium the tests are skipped with the reason, except under ``CI=true``,
where they fail. Screenshots go to ``test-artifacts/screenshots/`` (kept out of git).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.integrity import check_integrity
from tests.e2e.world import NOW, World, app_for, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    def __init__(self, url: str, world: World, engine: Any) -> None:
        self.url = url
        self.world = world
        self.engine = engine


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    path = tmp_path_factory.mktemp("site") / "patronage.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    world = seed(engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app_for(engine), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the back office did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", world, engine)
        # Whatever the flows did through the pages left the records whole (patronage check).
        report = check_integrity(engine, NOW)
        assert report.ok, report.as_dict()["findings"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        reason = f"Chromium not found at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def screenshot(page: Any, name: str) -> None:
    """The page at phone and desktop width, full length."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)
