"""Web sessions: a signed cookie, the CSRF token that goes with it, and who is signed in.

The session cookie (``patronage_session``) is signed with the settings' secret key
(itsdangerous), HttpOnly, SameSite=Lax, Secure when the site is served over https, and expires
after :data:`MAX_AGE`. It holds the account id, the key of the server-side session
(:mod:`patronage.web.sessions`) and the session's CSRF token; every request looks the session and
the account up again, so an ended session or a disabled account is signed out at once, even
from a copy of the cookie.

Every visitor gets a session (signed in or not) so the sign-in form carries a CSRF token too.
Every POST form must echo the token (hidden field ``csrf_token`` or the ``X-CSRF-Token`` header
that htmx sends), except the one-click unsubscribe (RFC 8058), which is authorised by its own
signed link.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.access import Principal
from patronage.clock import Clock, SystemClock
from patronage.config import Settings
from patronage.db.accounts import Account
from patronage.web.sessions import SESSION_LIFETIME, session_account

COOKIE = "patronage_session"
MAX_AGE = int(SESSION_LIFETIME.total_seconds())
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class WebSession:
    """What the cookie carries. ``changed`` makes the middleware send a new cookie."""

    csrf: str
    account_id: int | None = None
    changed: bool = False
    #: The server-side session's key (:func:`patronage.web.sessions.start_session`).
    key: str | None = None

    def sign_in(self, account_id: int, key: str) -> None:
        """A new session (and CSRF token) at sign-in, so a planted cookie is worthless."""
        self.account_id = account_id
        self.key = key
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True

    def sign_out(self) -> None:
        self.account_id = None
        self.key = None
        self.csrf = secrets.token_urlsafe(32)
        self.changed = True


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="patronage.web.session")


def read_cookie(settings: Settings, value: str | None) -> WebSession | None:
    if not value:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    account, key = data.get("a"), data.get("s")
    return WebSession(csrf=data["c"], account_id=account if isinstance(account, int) else None,
                      key=key if isinstance(key, str) else None)


def cookie_header(settings: Settings, web: WebSession) -> str:
    value = _serializer(settings).dumps({"a": web.account_id, "s": web.key, "c": web.csrf})
    secure = "; Secure" if settings.base_url.startswith("https://") else ""
    return (f"{COOKIE}={value}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax{secure}")


def _cookie_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, raw in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(raw.decode("latin-1"))
            except Exception:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


#: Sent with every page (not the API or its documentation, which load their own assets): no
#: framing, no MIME sniffing, scripts only from this site, and no page address (which may hold a
#: signed link) sent to other sites.
PAGE_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
]
NOT_PAGES = ("/api/", "/docs", "/redoc", "/openapi.json")
#: Pages opened from a personal signed link (preferences, unsubscribe, survey, testimonial,
#: password reset).
PERSONAL_LINKS = ("/p/", "/u/", "/s/", "/t/", "/password/reset/")
#: Signed-in pages and personal links are never kept by the browser or a shared cache.
NO_STORE = (b"cache-control", b"no-store")


class SessionMiddleware:
    """Puts a :class:`WebSession` on ``request.state.web``, sends the cookie when it changed,
    and adds :data:`PAGE_HEADERS` to pages (and :data:`NO_STORE` to signed-in ones and
    personal links)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        web = read_cookie(self.settings, _cookie_from_headers(scope.get("headers", [])))
        if web is None:
            web = WebSession(csrf=secrets.token_urlsafe(32), changed=True)
        scope.setdefault("state", {})["web"] = web
        path = str(scope.get("path", ""))
        page = not path.startswith(NOT_PAGES)
        signed_in = web.account_id is not None
        personal = path.startswith(PERSONAL_LINKS)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and (web.changed or page):
                headers = list(message.get("headers", []))
                if web.changed:
                    headers.append((b"set-cookie",
                                    cookie_header(self.settings, web).encode("latin-1")))
                if page:
                    headers.extend(PAGE_HEADERS)
                    if (signed_in or web.account_id is not None or personal) and not any(
                            name == b"cache-control" for name, _ in headers):
                        headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def web_session(request: Request) -> WebSession:
    web = getattr(request.state, "web", None)
    if not isinstance(web, WebSession):  # served without the middleware: nobody signed in
        web = WebSession(csrf=secrets.token_urlsafe(32), changed=True)
        request.state.web = web
    return web


def principal_for_account(account: Account | None) -> Principal | None:
    if account is None or account.disabled_at is not None:
        return None
    kind: Any = account.role
    return Principal.for_role(kind, account.member_id, account.email)


def principal_from_request(request: Request, session: Session) -> Principal | None:
    """Who is signed in through the web session cookie, or ``None`` (also used by the API)."""
    web = getattr(request.state, "web", None)
    if not isinstance(web, WebSession):
        settings = getattr(request.app.state, "settings", None)
        if not isinstance(settings, Settings):
            return None
        web = read_cookie(settings, request.cookies.get(COOKIE))
    if web is None or web.account_id is None:
        return None
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
    return principal_for_account(session_account(session, web.key, web.account_id,
                                                 now=clock.now()))


def csrf_ok(web: WebSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(web.csrf, submitted or "")
