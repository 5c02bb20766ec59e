"""Pages behind the signed links in messages: preferences ``/p``, one-click unsubscribe ``/u``
(RFC 8058: the POST needs no CSRF token, the signed link is the authority), survey ``/s`` and
testimonial ``/t``. No sign-in: the link names the member, and the page speaks the member's
language (their locale), like the message that carried the link."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from patronage import audit
from patronage.care.links import LinkData, read_token, unsubscribe
from patronage.care.surveys import answer_survey
from patronage.care.testimonials import submit_from_link
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.languages import N_
from patronage.web.deps import PageError, check_csrf, engine_of, now_of, page_errors, settings_of
from patronage.web.templating import member_locale, render
from patronage.web.views.portal import change_consent, consents

router = APIRouter()


def _read(request: Request, token: str, purpose: str) -> LinkData:
    with page_errors():
        try:
            return read_token(token, purpose, now_of(request),
                              secret=settings_of(request).secret_key)
        except Exception as exc:
            raise PageError(404, getattr(exc, "message", str(exc))) from exc


def _show(request: Request, link: LinkData, name: str, **context: Any) -> Response:
    """A page behind a link, in the language of the member the link is for."""
    return render(request, name, locale=member_locale(request, link.member_id), **context)


def _form(data: Any) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str)}


@router.get("/p/{token}", response_class=HTMLResponse)
def preferences(request: Request, token: str) -> Response:
    link = _read(request, token, "preferences")
    with transaction(engine_of(request)) as session:
        given = consents(session, link.member_id)
    return _show(request, link, "link_preferences.html", title=N_("Your preferences"), token=token,
                  consents=given, saved=False)


@router.post("/p/{token}", response_class=HTMLResponse)
async def save_preferences(request: Request, token: str) -> Response:
    await check_csrf(request)
    link = _read(request, token, "preferences")
    form = _form(await request.form())
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        current = consents(session, link.member_id)
        for channel, granted in current.items():
            wanted = form.get(channel) == "yes"
            if granted is None and not wanted:
                continue
            if wanted != bool(granted):
                change_consent(session, link.member_id, channel, wanted,
                               actor=f"member {link.member_id} (link)", now=now,
                               via="preferences link")
        given = consents(session, link.member_id)
    return _show(request, link, "link_preferences.html", title=N_("Your preferences"), token=token,
                  consents=given, saved=True)


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_confirm(request: Request, token: str) -> Response:
    link = _read(request, token, "unsubscribe")
    return _show(request, link, "link_unsubscribe.html", title=N_("Unsubscribe"), token=token,
                 done=False)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_now(request: Request, token: str) -> Response:
    link = _read(request, token, "unsubscribe")
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        changed = unsubscribe(session, link.member_id, now, "one-click link")
        if changed:
            audit.record(session, actor=f"member {link.member_id} (link)",
                         action="consent.change", target=f"member {link.member_id}",
                         detail="unsubscribed from email (one click)", at=now)
    return _show(request, link, "link_unsubscribe.html", title=N_("Unsubscribed"), token=token,
                 done=True)


@router.get("/s/{token}", response_class=HTMLResponse)
def survey(request: Request, token: str) -> Response:
    link = _read(request, token, "survey")
    return _show(request, link, "link_survey.html", title=N_("How can we serve you better?"),
                  token=token, done=False, error=None)


@router.post("/s/{token}", response_class=HTMLResponse)
async def answer(request: Request, token: str) -> Response:
    await check_csrf(request)
    link = _read(request, token, "survey")
    form = _form(await request.form())
    score_text = form.get("score", "").strip()
    error = None
    try:
        with transaction(engine_of(request)) as session, page_errors():
            if not score_text.isdigit():
                raise PatronageError("score: choose a number from 0 to 10")
            answer_survey(session, token, int(score_text), form.get("comment", ""),
                          form.get("serious") == "yes", now_of(request),
                          secret=settings_of(request).secret_key)
    except PageError as exc:
        if exc.status == 404:
            raise
        error = exc.message
    return _show(request, link, "link_survey.html", status=400 if error else 200,
                  title=N_("How can we serve you better?"), token=token, done=error is None,
                  error=error)


@router.get("/t/{token}", response_class=HTMLResponse)
def testimonial(request: Request, token: str) -> Response:
    link = _read(request, token, "testimonial")
    return _show(request, link, "link_testimonial.html", title=N_("Share your story"), token=token,
                  done=False, error=None)


@router.post("/t/{token}", response_class=HTMLResponse)
async def send_testimonial(request: Request, token: str) -> Response:
    await check_csrf(request)
    link = _read(request, token, "testimonial")
    form = _form(await request.form())
    error = None
    try:
        with transaction(engine_of(request)) as session, page_errors():
            submit_from_link(session, token, form.get("text", ""),
                             consent_to_publish=form.get("consent") == "yes",
                             now=now_of(request), secret=settings_of(request).secret_key)
    except PageError as exc:
        error = exc.message
    return _show(request, link, "link_testimonial.html", status=400 if error else 200,
                  title=N_("Share your story"), token=token, done=error is None, error=error)
