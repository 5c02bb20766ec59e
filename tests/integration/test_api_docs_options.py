"""The API's own surface: ``/docs`` is Swagger UI served from the package (no other site), and
``OPTIONS`` on every path lists every method of that path. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from patronage.api.docs import ASSETS_DIR, SWAGGER_UI_VERSION
from tests.integration.test_api_support import API, app_for

#: Anything that names another host: an absolute or protocol-relative URL.
ELSEWHERE = re.compile(r"""(?:https?:)?//[\w.-]+""")
ASSET_REF = re.compile(r"""(?:href|src)="([^"]+)\"""")


def test_docs_page_loads_everything_from_this_site(engine: Engine) -> None:
    client = app_for(engine)
    page = client.get("/docs")
    assert page.status_code == 200
    assert ELSEWHERE.findall(page.text) == []
    assets = ASSET_REF.findall(page.text)
    assert len(assets) == 3  # the script, the style sheet, the icon
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
    assert f"?v={SWAGGER_UI_VERSION}" in page.text
    assert "'validatorUrl': null" in page.text.replace('"', "'")  # no online validator badge
    # The page's one inline script runs by its hash; no script from anywhere else.
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy.split(
        "style-src")[0]
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/redoc").status_code == 404  # the CDN-based ReDoc page is not served


def test_the_swagger_ui_files_ship_with_their_licence() -> None:
    names = {p.name for p in ASSETS_DIR.iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE.txt",
            "NOTICE.txt"} <= names
    assert "Apache License" in (ASSETS_DIR / "LICENSE.txt").read_text(encoding="utf-8")


def _example(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: {"period": "2026-10", "sku": "TEA"}.get(
        m.group(1), "1"), path)


def test_options_lists_every_method_of_every_path(engine: Engine) -> None:
    client = app_for(engine)
    paths = client.get("/openapi.json").json()["paths"]
    assert len(paths) > 30
    wrong = []
    templates = {path: re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
                 for path in paths}
    for path in paths:
        # Every path template that takes this path (``/items/swap`` is also ``/items/{sku}``).
        expected = {m.upper() for other, operations in paths.items()
                    if templates[other].match(_example(path)) for m in operations} | {"OPTIONS"}
        r = client.options(_example(path))
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        if r.status_code != 204 or allow != expected:
            wrong.append((path, r.status_code, sorted(allow), sorted(expected)))
    assert wrong == []
    members = client.options(f"{API}/members")
    assert members.headers["allow"] == "GET, OPTIONS, POST"
    assert members.headers["cache-control"] == "no-store"
    # Pages too; a path of no route is still not found.
    assert client.options("/login").headers["allow"] == "GET, OPTIONS, POST"
    assert client.options(f"{API}/no-such-thing").status_code == 404
