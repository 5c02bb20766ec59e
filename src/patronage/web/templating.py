"""Jinja2 templates with what every page needs: who is signed in, the CSRF token, navigation,
and the viewer's language (see :func:`viewer_locale`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from patronage.access import Principal
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.languages import LANGUAGES, N_, language_of, normalize, use_locale
from patronage.languages import jinja as language_jinja
from patronage.languages.formatting import localized
from patronage.languages.jinja import translate_filter
from patronage.languages.negotiate import negotiate
from patronage.signin.cookie import web_session
from patronage.web.charts import bars, heat, intervals, line
from patronage.web.deps import engine_of, settings_of
from patronage.web.words import source_word

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True
language_jinja.install(TEMPLATES.env)
TEMPLATES.env.globals["languages"] = LANGUAGES

#: The cookie that keeps a language chosen on the account page (for sign-ins without a member).
LANGUAGE_COOKIE = "patronage_lang"


def _pager_query(params: Any, page: int) -> str:
    """The current query string with ``page`` replaced."""
    items = [(k, v) for k, v in params.multi_items() if k != "page"] + [("page", str(page))]
    return urlencode(items)


TEMPLATES.env.filters["pager_query"] = _pager_query
TEMPLATES.env.filters["heat"] = heat
TEMPLATES.env.globals.update(bars=bars, line=line, intervals=intervals)
TEMPLATES.env.filters["source_word"] = lambda code: translate_filter(source_word(str(code)))

NAV: dict[str, list[tuple[str, str]]] = {
    "distributor": [("/today", N_("Today")), ("/customers", N_("My customers")),
                    ("/business", N_("My business")), ("/team", N_("My team")),
                    ("/playbook", N_("My playbook")), ("/share", N_("Share")),
                    ("/earnings", N_("My earnings")), ("/payout-method", N_("Payout method"))],
    "customer": [("/me", N_("My account")), ("/me/card", N_("My card"))],
    "staff": [("/company", N_("Company")), ("/company/members", N_("Members")),
              ("/company/orders", N_("Orders")), ("/company/runs", N_("Commissions")),
              ("/company/payouts", N_("Payouts")),
              ("/company/autoship", N_("Autoship")), ("/company/care", N_("Care")),
              ("/company/imports", N_("Imports")), ("/company/compliance", N_("Compliance")),
              ("/company/jobs", N_("Jobs")), ("/company/audit", N_("Audit"))],
}


def member_locale(request: Request, member_id: int) -> str | None:
    """The locale a member chose (stored on the member), or ``None`` if there is none."""
    with transaction(engine_of(request)) as session:
        found = session.scalar(select(Member.locale).where(Member.id == member_id))
    return normalize(found) if found else None


def viewer_locale(request: Request, principal: Principal | None) -> str:
    """The language a page is shown in: a signed-in member's own locale; else the language
    chosen on the account page (kept in a cookie); else the browser's ``Accept-Language``."""
    if principal is not None and principal.member_id is not None:
        found = member_locale(request, principal.member_id)
        if found:
            return found
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen and language_of(chosen) in LANGUAGES:
        return normalize(chosen)
    return negotiate(request.headers.get("accept-language"))


def render(request: Request, name: str, principal: Principal | None = None, *,
           status: int = 200, locale: str | None = None, **context: Any) -> HTMLResponse:
    """A page in the viewer's language (``locale`` overrides it: a page behind a member's
    signed link speaks the member's language)."""
    settings = settings_of(request)
    chosen = normalize(locale) if locale else viewer_locale(request, principal)
    base = {
        "request": request, "me": principal, "csrf": web_session(request).csrf,
        "nav": NAV.get(principal.kind, []) if principal else [],
        "path": request.url.path, "company": settings.company_name,
        "currency": settings.currency, "locale": chosen, "lang": language_of(chosen),
    }
    with use_locale(chosen):
        context = {key: localized(value) for key, value in context.items()}
        return TEMPLATES.TemplateResponse(request, name, {**base, **context},
                                          status_code=status)
