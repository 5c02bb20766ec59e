"""Today: tasks due, customers most at risk by value, upcoming birthdays; marking a task done."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.bounds import Id
from patronage.db.engine import transaction
from patronage.value.service import distributor_customers
from patronage.web.deps import (
    Csrf,
    Distributor,
    company_zone,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import render
from patronage.web.views.customers import upcoming_birthdays
from patronage.web.views.tasks import mark_task_done, tasks_due

router = APIRouter()


@router.get("/today", response_class=HTMLResponse)
def today(request: Request, me: Distributor) -> Response:
    now, engine = now_of(request), engine_of(request)
    assert me.member_id is not None
    with transaction(engine) as session:
        tasks = tasks_due(session, me.member_id, now, settings=settings_of(request))
        birthdays = upcoming_birthdays(session, me.member_id, now, company_zone(request))
    at_risk = [c for c in distributor_customers(engine, me.member_id, order_by="risk", limit=8,
                                                viewer=me) if c["value_at_risk"] > 0]
    return render(request, "today.html", me, title="Today", tasks=tasks, at_risk=at_risk,
                  birthdays=birthdays, now=now)


@router.post("/tasks/{touch_id}/done", dependencies=[Csrf])
def task_done(request: Request, touch_id: Id, me: Distributor) -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        mark_task_done(session, touch_id, me.member_id, actor=me.actor, now=now_of(request))
    if request.headers.get("hx-request"):
        return HTMLResponse('<li class="done" role="status">Done — thank you.</li>')
    return RedirectResponse("/today", status_code=303)
