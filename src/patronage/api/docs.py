"""The interactive API documentation at ``/docs``: Swagger UI served from the package itself.

The Swagger UI files (``swagger-ui-dist`` :data:`SWAGGER_UI_VERSION`, Apache-2.0, licence and
notice beside them in ``swagger_ui/``) ship in the wheel and are served under ``/docs/assets``,
so the page works offline and loads no code from another site onto the origin that carries the
sign-in cookie. The page's one inline script is allowed by its hash in the page's
Content-Security-Policy; nothing else may run. The online validator badge is off (it would
fetch from another site).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: The pinned release of ``swagger-ui-dist`` whose files are in ``swagger_ui/``.
SWAGGER_UI_VERSION = "5.35.0"
ASSETS_DIR = Path(__file__).parent / "swagger_ui"
ASSETS_URL = "/docs/assets"
DOCS_URL = "/docs"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def docs_page(title: str, openapi_url: str) -> HTMLResponse:
    """The Swagger UI page for the schema at ``openapi_url``, with local assets and a strict
    Content-Security-Policy."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} — API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
    html = bytes(page.body).decode("utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html))
    policy = ("default-src 'self'; "
              f"script-src 'self' {hashes}; "
              "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return HTMLResponse(html, headers={
        "content-security-policy": policy,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    })


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets (the app is made with ``docs_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def _docs() -> HTMLResponse:
        return docs_page(app.title, openapi_url)
