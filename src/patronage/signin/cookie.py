"""The signed session cookie, its CSRF token, and who a request is from.

The session cookie (``patronage_session``) is signed with the settings' secret key
(itsdangerous), HttpOnly, SameSite=Lax, Secure when the site is served over https, and expires
after :data:`MAX_AGE`. It holds the account id, the key of the server-side session
(:mod:`patronage.signin.sessions`) and the session's CSRF token; every request looks the session
and the account up again, so an ended session or a disabled account is signed out at once, even
from a copy of the cookie.

Every change made with the cookie must echo the session's CSRF token: a form field
(:data:`CSRF_FIELD`) or the header :data:`CSRF_HEADER` (which htmx and API clients send). The
web pages (:mod:`patronage.web.deps`) and the REST API (:mod:`patronage.api.deps`) both check it
with :func:`csrf_matches`.
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

from patronage.access import Principal
from patronage.clock import Clock, SystemClock
from patronage.config import Settings
from patronage.db.accounts import Account
from patronage.signin.sessions import SESSION_LIFETIME, session_account

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
    #: The server-side session's key (:func:`patronage.signin.sessions.start_session`).
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


def cookie_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
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


def csrf_matches(request: Request, submitted: str | None) -> bool:
    """Whether ``submitted`` is the CSRF token of the request's session."""
    return csrf_ok(web_session(request), submitted)
