"""Jinja2 templates with what every page needs: who is signed in, the CSRF token, navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from patronage.access import Principal
from patronage.signin.cookie import web_session
from patronage.web.deps import money, points, settings_of

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["points"] = points
TEMPLATES.env.autoescape = True


def _pager_query(params: Any, page: int) -> str:
    """The current query string with ``page`` replaced."""
    items = [(k, v) for k, v in params.multi_items() if k != "page"] + [("page", str(page))]
    return urlencode(items)


TEMPLATES.env.filters["pager_query"] = _pager_query

NAV: dict[str, list[tuple[str, str]]] = {
    "distributor": [("/today", "Today"), ("/customers", "My customers"),
                    ("/business", "My business"), ("/team", "My team")],
    "customer": [("/me", "My account")],
    "staff": [("/company", "Company"), ("/company/members", "Members"),
              ("/company/orders", "Orders"), ("/company/runs", "Commissions"),
              ("/company/autoship", "Autoship"), ("/company/care", "Care"),
              ("/company/imports", "Imports"), ("/company/audit", "Audit")],
}


def render(request: Request, name: str, principal: Principal | None = None, *,
           status: int = 200, **context: Any) -> HTMLResponse:
    settings = settings_of(request)
    base = {
        "request": request, "me": principal, "csrf": web_session(request).csrf,
        "nav": NAV.get(principal.kind, []) if principal else [],
        "path": request.url.path, "company": settings.company_name,
        "currency": settings.currency,
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)
