"""Today: the few touches most worth making now (done, snooze, not now in place), money at
risk first; printing cards."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.bounds import Id
from patronage.care.channels.cards import print_own_cards
from patronage.care.tasks import task_line
from patronage.care.today import (
    NoteRefused,
    TodayList,
    not_now,
    personal_note,
    snooze,
    today_list,
)
from patronage.compensation.standing import active_standing
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import NotFound
from patronage.languages import N_, use_locale
from patronage.web.deps import (
    Csrf,
    Distributor,
    company_zone,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import TEMPLATES, render, viewer_locale
from patronage.web.views.customers import due_cards
from patronage.web.views.tasks import mark_task_done

router = APIRouter()


def _day(request: Request, me: Distributor) -> TodayList:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session:
        return today_list(session, me.member_id, now_of(request),
                          settings=settings_of(request), tz=company_zone(request))


@router.get("/today", response_class=HTMLResponse)
def today(request: Request, me: Distributor) -> Response:
    assert me.member_id is not None
    day = _day(request, me)
    with transaction(engine_of(request)) as session:
        standing = active_standing(session, me.member_id, now_of(request),
                                   company_zone=company_zone_name(request))
    return render(request, "today.html", me, title="Today", day=day, standing=standing,
                  now=now_of(request))


def _after(request: Request, me: Distributor, message: str) -> Response:
    """In place (htmx): the item's row says what happened and the counts follow; without
    htmx, back to Today."""
    if not request.headers.get("hx-request"):
        return RedirectResponse("/today", status_code=303)
    day = _day(request, me)
    with use_locale(viewer_locale(request, me)):
        html = TEMPLATES.get_template("today_after.html").render(message=message,
                                                                  counts=day.counts)
    return HTMLResponse(html)


@router.post("/tasks/{touch_id}/done", dependencies=[Csrf])
def task_done(request: Request, touch_id: Id, me: Distributor) -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        mark_task_done(session, touch_id, me.member_id, actor=me.actor, now=now_of(request))
    return _after(request, me, "done")


@router.post("/tasks/{touch_id}/snooze", dependencies=[Csrf])
def task_snooze(request: Request, touch_id: Id, me: Distributor) -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        snooze(session, touch_id, me.member_id, now=now_of(request), actor=me.actor)
    return _after(request, me, "snoozed")


@router.post("/tasks/{touch_id}/not-now", dependencies=[Csrf])
def task_not_now(request: Request, touch_id: Id, me: Distributor) -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        not_now(session, touch_id, me.member_id, now=now_of(request), actor=me.actor)
    return _after(request, me, "not_now")


def _note_page(request: Request, me: Distributor, touch_id: int, body: str | None,
               errors: list[str], status: int = 200, mailto: str = "") -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        touch = session.get(Touch, touch_id)
        if touch is None or touch.owner_id != me.member_id or touch.channel != "task":
            raise NotFound(f"task {touch_id} does not exist")
        member = session.get(Member, touch.member_id)
        assert member is not None
        if body is None:
            body = task_line(session, touch, now_of(request), settings=settings_of(request))
        name, email = member.name, member.email
    return render(request, "note.html", me, title=N_("Send this note"), touch_id=touch_id,
                  who=name, email=email, body=body, errors=errors, status=status,
                  mailto=mailto)


@router.get("/tasks/{touch_id}/note", response_class=HTMLResponse)
def note(request: Request, touch_id: Id, me: Distributor) -> Response:
    """Write a personal note for a task, to send from one's own mail app."""
    return _note_page(request, me, touch_id, None, [])


@router.post("/tasks/{touch_id}/note", dependencies=[Csrf])
def note_send(request: Request, touch_id: Id, me: Distributor,
              body: Annotated[str, Form()] = "") -> Response:
    """Check the note against the company's forbidden phrases; a refused note comes back with
    the reason under it, an accepted one is ready to open in the distributor's mail app."""
    assert me.member_id is not None
    refused: list[str] = []
    with transaction(engine_of(request)) as session, page_errors():
        try:
            ready = personal_note(session, touch_id, me.member_id, body)
        except NoteRefused as exc:
            refused = [f"{p.place.removeprefix('body').lstrip(', ')}: {p.reason}".lstrip(": ")
                       for p in exc.problems]
    if refused:
        return _note_page(request, me, touch_id, body, refused, status=422)
    return _note_page(request, me, touch_id, ready.body, [],
                      mailto=f"mailto:{quote(ready.email, safe='@')}?body={quote(ready.body)}")


@router.get("/cards", response_class=HTMLResponse)
def cards(request: Request, me: Distributor) -> Response:
    """The cards due to the distributor's customers, to pick and print."""
    assert me.member_id is not None
    with transaction(engine_of(request)) as session:
        due = due_cards(session, me.member_id, now_of(request))
    return render(request, "cards.html", me, title="Cards", due=due)


@router.post("/cards/print", dependencies=[Csrf])
def cards_print(request: Request, me: Distributor,
                touch: Annotated[list[Id] | None, Form()] = None) -> Response:
    """The chosen cards as one print-ready PDF; they then count as made."""
    assert me.member_id is not None
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        printed = print_own_cards(session, me.member_id, touch or [], now,
                                  settings=settings_of(request))
    name = f"cards-{now.strftime('%Y%m%d')}-{printed.batch_id}.pdf"
    return Response(printed.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
