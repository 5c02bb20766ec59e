"""The web pages' side of the session cookie: the middleware that reads and sends it, and the
headers every page carries.

The cookie itself, its CSRF token and who a request is from are in :mod:`patronage.signin.cookie`
(shared with the REST API). Every visitor gets a session (signed in or not) so the sign-in form
carries a CSRF token too. Every POST form must echo the token (hidden field ``csrf_token`` or the
``X-CSRF-Token`` header that htmx sends), except the one-click unsubscribe (RFC 8058), which is
authorised by its own signed link.
"""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.config import Settings
from patronage.signin.cookie import WebSession, cookie_from_headers, cookie_header, read_cookie

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
        web = read_cookie(self.settings, cookie_from_headers(scope.get("headers", [])))
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
                    # A page with its own policy (the card page, which loads Stripe.js) keeps
                    # it; every other header is the same.
                    own = any(name == b"content-security-policy" for name, _ in headers)
                    headers.extend(h for h in PAGE_HEADERS
                                   if not (own and h[0] == b"content-security-policy"))
                    if (signed_in or web.account_id is not None or personal) and not any(
                            name == b"cache-control" for name, _ in headers):
                        headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
