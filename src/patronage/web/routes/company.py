"""Company pages for staff: the start page, member and order search, the autoship dashboard,
care rules with the holdout report, and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from patronage import audit
from patronage.autoship.reports import churn_by_kind, forecast, retention_by_cohort
from patronage.bounds import PageNumber
from patronage.care.core.rules import load_rules
from patronage.care.holdout import holdout_report
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.web.deps import Staff, company_zone, engine_of, now_of, page_errors
from patronage.web.templating import render
from patronage.web.views.company import search_members, search_orders

router = APIRouter()


@router.get("/company", response_class=HTMLResponse)
def company(request: Request, me: Staff) -> Response:
    with transaction(engine_of(request)) as session:
        kinds = dict(session.execute(select(Member.kind, func.count()).group_by(Member.kind))
                     .all())
        autoships = dict(session.execute(select(Subscription.status, func.count())
                                         .group_by(Subscription.status)).all())
        recent = audit.recent(session, limit=10)
    return render(request, "company.html", me, title="Company", kinds=kinds,
                  autoships=autoships, recent=recent)


@router.get("/company/members", response_class=HTMLResponse)
def members(request: Request, me: Staff, q: str = "", kind: str = "",
            page: PageNumber = 1) -> Response:
    with transaction(engine_of(request)) as session:
        listing = search_members(session, me, q, page=page, kind=kind)
    return render(request, "company_members.html", me, title="Members", listing=listing,
                  kind=kind)


def _day(text: str, place: str, request: Request) -> datetime | None:
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise PatronageError(f"{place}: {text!r} is not a date (YYYY-MM-DD)") from exc
    return datetime.combine(day, time(0), company_zone(request))


@router.get("/company/orders", response_class=HTMLResponse)
def orders(request: Request, me: Staff, buyer: str = "", source: str = "", since: str = "",
           until: str = "", page: PageNumber = 1) -> Response:
    with transaction(engine_of(request)) as session, page_errors():
        listing = search_orders(session, buyer=buyer, source=source,
                                since=_day(since, "from", request),
                                until=_day(until, "until", request), page=page)
        return render(request, "company_orders.html", me, title="Orders", listing=listing,
                      source=source, since=since, until=until)


@router.get("/company/autoship", response_class=HTMLResponse)
def autoship(request: Request, me: Staff) -> Response:
    engine, now = engine_of(request), now_of(request)
    cohorts = retention_by_cohort(engine, now)[-12:]
    churn = churn_by_kind(engine, now)
    ahead = forecast(engine, now, 6)
    return render(request, "company_autoship.html", me, title="Autoship", cohorts=cohorts,
                  churn=churn, ahead=ahead)


@router.get("/company/care", response_class=HTMLResponse)
def care(request: Request, me: Staff) -> Response:
    with page_errors():
        rules = load_rules()
        holdout = holdout_report(engine_of(request), now_of(request), rules)
    return render(request, "company_care.html", me, title="Care", rules=rules,
                  holdout=holdout)


@router.get("/company/audit", response_class=HTMLResponse)
def audit_log(request: Request, me: Staff, action: str = "") -> Response:
    with transaction(engine_of(request)) as session:
        rows = audit.recent(session, limit=200, action=action or None)
    return render(request, "company_audit.html", me, title="Audit log", rows=rows,
                  action=action)
