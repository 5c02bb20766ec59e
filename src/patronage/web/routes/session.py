"""Signing in and out, changing one's password, and setting a forgotten one by email."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage import audit
from patronage.care.channels.email import SendFailed, SmtpSender
from patronage.config import Settings
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.languages import LANGUAGES, N_, gettext, language_of, locale_for, use_locale
from patronage.languages.catalogs import territory_of
from patronage.signin.cookie import principal_from_request, web_session
from patronage.signin.sessions import end_session, start_session
from patronage.web.accounts import BadCredentials, RateLimited, authenticate, change_password
from patronage.web.deps import (
    Csrf,
    PageError,
    SignedIn,
    check_csrf,
    client_ip,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.resets import (
    RESET_LIFETIME,
    ResetLink,
    check_link,
    request_reset,
    reset_message,
    reset_password,
)
from patronage.web.routes.agreement import agreement_prompt
from patronage.web.templating import LANGUAGE_COOKIE, render, viewer_locale

#: How long the language chosen on the account page is kept in the browser (a year).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

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
            with use_locale(viewer_locale(request, None)):
                error = (gettext(exc.pattern) % exc.values) if exc.pattern else exc.message
            status = 429
        except BadCredentials as exc:
            error, status = exc.message, 401
    if error is not None:
        return render(request, "login.html", status=status, error=error, email=email,
                      next=_safe_next(next) or "")
    web_session(request).sign_in(account.id, key)
    target = _safe_next(next) or HOME[account.role]
    if account.role == "distributor" and account.member_id is not None:
        target = agreement_prompt(request, account.member_id, target)
    return RedirectResponse(target, status_code=303)


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


@router.post("/account/language", response_class=HTMLResponse, dependencies=[Csrf])
def choose_language(request: Request, me: SignedIn,
                    language: Annotated[str, Form()] = "") -> Response:
    """Keep the language chosen: on the member (their pages and the messages they receive)
    and, for every sign-in, in a cookie (a staff account has no member)."""
    if language not in LANGUAGES:
        return render(request, "account.html", me, status=400, message=None,
                      error=f"language: {language[:20]!r} is not one of {', '.join(LANGUAGES)}")
    locale = locale_for(language, None)
    if me.member_id is not None:
        with transaction(engine_of(request)) as session:
            member = session.get(Member, me.member_id)
            if member is None:
                raise PageError(404, f"member {me.member_id} not found")
            locale = locale_for(language, member.country or territory_of(member.locale))
            if language_of(member.locale) != language:
                audit.record(session, actor=f"member {member.id}", action="member.language",
                             target=f"member {member.id}",
                             detail=f"language {member.locale} -> {locale}",
                             at=now_of(request))
                member.locale = locale
    response = render(request, "account.html", me, locale=locale,
                      message=N_("Your language is saved."), error=None)
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=LANGUAGE_COOKIE_AGE, httponly=True,
                        samesite="lax",
                        secure=settings_of(request).base_url.startswith("https://"))
    return response


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
    return render(request, "account.html", me, message=N_("Your password is changed."),
                  error=None)


def _send_reset(request: Request, settings: Settings, link: ResetLink, now: datetime) -> None:
    """Send the link (after the answer, so the answer takes as long with or without an
    account); a failure is audited, never shown."""
    try:
        with SmtpSender(settings) as sender:
            sender.send(reset_message(link, settings=settings, now=now))
    except SendFailed as exc:
        with transaction(engine_of(request)) as session:
            audit.record(session, actor="system", action="password.reset_mail_failed",
                         target=link.email, detail=exc.reason, at=now)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    return render(request, "password_forgot.html", sent=False)


@router.post("/password/forgot", response_class=HTMLResponse, dependencies=[Csrf])
def forgot(request: Request, background: BackgroundTasks,
           email: Annotated[str, Form()]) -> Response:
    now = now_of(request)
    with transaction(engine_of(request)) as session:
        link = request_reset(session, email, now=now, ip=client_ip(request))
    if link is not None:
        background.add_task(_send_reset, request, settings_of(request), link, now)
    return render(request, "password_forgot.html", sent=True,
                  minutes=int(RESET_LIFETIME.total_seconds() // 60))


@router.get("/password/reset/{key}", response_class=HTMLResponse)
def reset_form(request: Request, key: str) -> Response:
    with transaction(engine_of(request)) as session:
        try:
            with page_errors():
                email = check_link(session, key, now=now_of(request))
        except PageError as exc:
            return render(request, "password_reset.html", status=400, error=exc.message,
                          email=None, key="")
    return render(request, "password_reset.html", error=None, email=email, key=key)


@router.post("/password/reset/{key}", response_class=HTMLResponse, dependencies=[Csrf])
def reset(request: Request, key: str, new: Annotated[str, Form()]) -> Response:
    email: str | None = None
    error: str | None = None
    with transaction(engine_of(request)) as session:
        try:
            with page_errors():
                reset_password(session, key, new=new, now=now_of(request),
                               ip=client_ip(request))
        except PageError as exc:
            error = exc.message
            try:
                email = check_link(session, key, now=now_of(request))
            except PatronageError:
                email = None
    if error is not None:
        return render(request, "password_reset.html", status=400, error=error, email=email,
                      key=key if email else "")
    return render(request, "login.html", next="", error=None, email="",
                  message="Your password is set. Sign in with it.")
