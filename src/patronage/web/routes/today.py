"""Today: the few touches most worth making now (done, snooze, not now in place), money at
risk first; printing cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.bounds import Id
from patronage.care.channels.cards import print_own_cards
from patronage.care.today import TodayList, not_now, snooze, today_list
from patronage.compensation.standing import active_standing
from patronage.db.engine import transaction
from patronage.languages import use_locale
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
