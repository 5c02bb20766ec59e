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
    with transaction(engine_of(request)) as session:
        try:
            account = authenticate(session, email=email, password=password,
                                   ip=client_ip(request), now=now)
        except RateLimited as exc:
            error, status = exc.message, 429
        except BadCredentials as exc:
            error, status = exc.message, 401
    if error is not None:
        return render(request, "login.html", status=status, error=error, email=email,
                      next=_safe_next(next) or "")
    web_session(request).sign_in(account.id)
    return RedirectResponse(_safe_next(next) or HOME[account.role], status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    web_session(request).sign_out()
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
    with transaction(engine_of(request)) as session:
        try:
            with page_errors():
                change_password(session, int(web.account_id or 0), current=current, new=new,
                                now=now_of(request), ip=client_ip(request))
        except PageError as exc:
            error = exc.message
    if error:
        return render(request, "account.html", me, status=400, message=None, error=error)
    return render(request, "account.html", me, message="Your password is changed.", error=None)
