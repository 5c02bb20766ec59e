"""What every page shares: the store, the clock, who is signed in, CSRF, page errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from patronage.access import Forbidden, Principal
from patronage.clock import Clock, SystemClock, zone
from patronage.config import Settings, get_settings
from patronage.db.engine import transaction
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.languages.formatting import format_money, format_points
from patronage.proxies import client_address
from patronage.signin.cookie import CSRF_FIELD, CSRF_HEADER, csrf_matches, principal_from_request


class PageError(Exception):
    """A page that cannot be shown: rendered as an HTML error page with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def settings_of(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def engine_of(request: Request) -> Engine:
    engine = getattr(request.app.state, "engine", None)
    if not isinstance(engine, Engine):
        raise PageError(500, "the back office has no database")
    return engine


def read_engine_of(request: Request) -> Engine:
    """The store for pages that may read slightly stale data (the dashboards): the read replica
    (``PATRONAGE_READ_DATABASE_URL``) when there is one, else the database."""
    engine = getattr(request.app.state, "read_engine", None)
    return engine if isinstance(engine, Engine) else engine_of(request)


def clock_of(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
    return clock


def now_of(request: Request) -> datetime:
    return clock_of(request).now()


def company_zone(request: Request) -> tzinfo:
    return zone(company_zone_name(request))


def company_zone_name(request: Request) -> str:
    """The name of the company's time zone (``settings.company_timezone``), for the services."""
    return settings_of(request).company_timezone


def client_ip(request: Request) -> str:
    """The client's address; ``X-Forwarded-For`` counts only from a trusted proxy."""
    return client_address(request.client.host if request.client else None,
                          request.headers.get("x-forwarded-for"),
                          settings_of(request).proxy_networks())


@contextmanager
def page_errors() -> Iterator[None]:
    """Service refusals become error pages: not found 404, forbidden 403, conflict 409,
    anything else 400 with the service's message (which names the place and the reason)."""
    try:
        yield
    except NotFound as exc:
        raise PageError(404, exc.message) from exc
    except Forbidden as exc:
        raise PageError(403, exc.message) from exc
    except Conflict as exc:
        raise PageError(409, exc.message) from exc
    except PatronageError as exc:
        raise PageError(400, exc.message) from exc


def current_principal(request: Request) -> Principal:
    with transaction(engine_of(request)) as session:
        principal = principal_from_request(request, session)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


def _role(*kinds: str) -> Any:
    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.kind not in kinds:
            raise PageError(403, f"this page is for {' or '.join(kinds)} sign-ins")
        return principal

    return Depends(dependency)


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose form field or header does not carry the session's CSRF token."""
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_matches(request, submitted):
        raise PageError(403, "This form has expired or did not come from this site. "
                             "Go back, reload the page and try again.")


SignedIn = Annotated[Principal, Depends(current_principal)]
Distributor = Annotated[Principal, _role("distributor")]
Customer = Annotated[Principal, _role("customer")]
Staff = Annotated[Principal, _role("staff")]
StaffOrDistributor = Annotated[Principal, _role("staff", "distributor")]
Csrf = Depends(check_csrf)


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def scoped_session(request: Request) -> Any:
    """A unit of work on the app's store (commits on success)."""
    return transaction(engine_of(request))


def money(amount: int, currency: str = "", locale: str | None = None, *,
          symbol: bool | None = None) -> str:
    """Minor units as the reader's locale writes them (the ``money`` filter of the pages). With
    a currency code: that currency, with its symbol and its own decimal places (``$1,234.50``,
    ``CA$13.33``, ``¥15,000``); without one: a plain amount with two decimals (the plan
    currency's hundredths on company pages). ``symbol`` overrides the choice."""
    return format_money(amount, currency or "USD", locale,
                        symbol=bool(currency) if symbol is None else symbol)


def points(volume: int, locale: str | None = None) -> str:
    return format_points(volume, locale)


__all__ = ["Csrf", "Customer", "Distributor", "LoginRequired", "PageError", "Session",
           "SignedIn", "Staff", "StaffOrDistributor", "check_csrf", "client_ip", "clock_of",
           "company_zone", "company_zone_name", "current_principal", "engine_of", "login_url",
           "money", "now_of", "page_errors", "points", "scoped_session", "settings_of"]
