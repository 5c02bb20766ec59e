"""Signing in and out, and changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.db.engine import transaction
from patronage.web.accounts import BadCredentials, RateLimited, authenticate, change_password
from patronage.web.auth import principal_from_request, web_session
from patronage.web.deps import (
    Csrf,
    PageError,
    SignedIn,
    check_csrf,
    client_ip,
    engine_of,
    now_of,
    page_errors,
)
from patronage.web.sessions import end_session, start_session
from patronage.web.templating import render

router = APIRouter()

HOME = {"staff": "/company", "distributor": "/today", "customer": "/me"}


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or a full URL) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    with transaction(engine_of(request)) as session:
        principal = principal_from_request(request, session)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(principal.kind, "/login"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next) or "", error=None, email="")


@router.post("/login", response_class=HTMLResponse, dependencies=[Csrf])
def login(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str, Form()] = "") -> Response:
    now = now_of(request)
    error: str | None = None
    status = 200
    key = ""
    with transaction(engine_of(request)) as session:
        try:
            account = authenticate(session, email=email, password=password,
                                   ip=client_ip(request), now=now)
            key = start_session(session, account.id, now=now)
        except RateLimited as exc:
            error, status = exc.message, 429
        except BadCredentials as exc:
            error, status = exc.message, 401
    if error is not None:
        return render(request, "login.html", status=status, error=error, email=email,
                      next=_safe_next(next) or "")
    web_session(request).sign_in(account.id, key)
    return RedirectResponse(_safe_next(next) or HOME[account.role], status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    web = web_session(request)
    with transaction(engine_of(request)) as session:
        end_session(session, web.key, now=now_of(request))
    web.sign_out()
    return RedirectResponse("/login", status_code=303)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, me: SignedIn) -> Response:
    return render(request, "account.html", me, message=None, error=None)


@router.post("/account/password", response_class=HTMLResponse)
async def password(request: Request, me: SignedIn) -> Response:
    await check_csrf(request)
    form = await request.form()
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    web = web_session(request)
    error = None
    now = now_of(request)
    account_id = int(web.account_id or 0)
    key = ""
    with transaction(engine_of(request)) as session:
        try:
            with page_errors():
                change_password(session, account_id, current=current, new=new, now=now,
                                ip=client_ip(request))
            # Every session of the account ended with the old password; this browser
            # carries on in a new one.
            key = start_session(session, account_id, now=now)
        except PageError as exc:
            error = exc.message
    if error:
        return render(request, "account.html", me, status=400, message=None, error=error)
    web.sign_in(account_id, key)
    return render(request, "account.html", me, message="Your password is changed.", error=None)
