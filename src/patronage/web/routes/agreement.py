"""The distributor agreement: its current version for anyone to read, and the form a
distributor accepts it with (asked at sign-in when a new version was published)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.compliance.agreements import accept, current, needs_acceptance
from patronage.db.engine import transaction
from patronage.signin.cookie import principal_from_request
from patronage.web.deps import (
    Csrf,
    Distributor,
    client_ip,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site is followed after accepting."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/today"


def agreement_prompt(request: Request, member_id: int, target: str) -> str:
    """Where a distributor goes after signing in: the agreement when a version waits for
    their acceptance, else ``target``."""
    with transaction(engine_of(request)) as session:
        waiting = needs_acceptance(session, member_id, settings_of(request).agreement_version)
    return f"/agreement?next={quote(target, safe='/')}" if waiting else target


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, next: str | None = None) -> Response:
    with transaction(engine_of(request)) as session:
        me = principal_from_request(request, session)
        version = current(session)
        text = None if version is None else (version.version, version.title, version.body,
                                             version.published_at)
        waiting = (me is not None and me.kind == "distributor" and me.member_id is not None
                   and version is not None
                   and needs_acceptance(session, me.member_id, version.version) is not None)
    return render(request, "agreement.html", me, title="Distributor agreement", text=text,
                  waiting=waiting, next=safe_next(next))


@router.post("/agreement", dependencies=[Csrf])
def accept_agreement(request: Request, me: Distributor,
                     version: Annotated[str, Form(max_length=32)],
                     next: Annotated[str, Form(max_length=500)] = "") -> Response:
    assert me.member_id is not None
    with page_errors(), transaction(engine_of(request)) as session:
        accept(session, me.member_id, version, now=now_of(request), ip=client_ip(request),
               user_agent=request.headers.get("user-agent", ""))
    return RedirectResponse(safe_next(next), status_code=303)
