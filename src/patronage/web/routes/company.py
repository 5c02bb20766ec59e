"""Company pages for staff: the start page, member and order search, the autoship dashboard,
care rules with the holdout report, and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from patronage import audit
from patronage.access import member_labels
from patronage.autoship.reports import churn_by_kind, forecast, retention_by_cohort
from patronage.bounds import Id, PageNumber
from patronage.care.core.rules import load_rules
from patronage.care.holdout import holdout_report
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.markets.markets import default_market
from patronage.payouts.statements import statement_months
from patronage.web.deps import (
    Staff,
    company_zone,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
    read_engine_of,
)
from patronage.web.templating import render
from patronage.web.views.company import search_members, search_orders
from patronage.web.views.figures import count_figures, latest_figures
from patronage.web.views.staff import buyer_names, member_page, order_page

router = APIRouter()


@router.get("/company", response_class=HTMLResponse)
def company(request: Request, me: Staff) -> Response:
    """The dashboard: sales by week, the volume mix, the commission share of CV, autoship
    retention and forecast, members by kind; every chart with its numbers in a table. The
    figures are the last count of the ``company-figures`` job, shown with its time (counted
    here once when there is none yet, from the read replica when there is one)."""
    now = now_of(request)
    with transaction(engine_of(request)) as session:
        counted = latest_figures(session)
        recent = audit.recent(session, limit=10)
    if counted is None:
        counted = count_figures(engine_of(request), now, read=read_engine_of(request))
    board, ahead = counted.board, counted.ahead
    return render(request, "company.html", me, title="Company", board=board,
                  kinds=board.kinds, autoships=counted.autoships, recent=recent,
                  cohorts=counted.cohorts, ahead=ahead, labels=[w[5:] for w in board.weeks],
                  counted_at=counted.counted_at,
                  forecast_points=[(_month_ahead(counted.as_of, f.month), float(f.cv))
                                   for f in ahead],
                  month_ahead=lambda k: _month_ahead(counted.as_of, k))


def _month_ahead(now: datetime, k: int) -> str:
    """The month ``k`` months after ``now``'s, as YYYY-MM."""
    index = now.year * 12 + now.month - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@router.get("/company/members", response_class=HTMLResponse)
def members(request: Request, me: Staff, q: str = "", kind: str = "",
            page: PageNumber = 1) -> Response:
    with transaction(engine_of(request)) as session:
        code = default_market(session).code
        region = code if len(code) == 2 and code.isalpha() else None
        listing = search_members(session, me, q, page=page, kind=kind, region=region)
        names = {i: n.rsplit(" (#", 1)[0] for i, n in member_labels(
            session, None, [i for m in listing.rows for i in (m.sponsor_id, m.owner_id) if i])
            .items()}
    return render(request, "company_members.html", me, title="Members", listing=listing,
                  kind=kind, names=names)


@router.get("/company/members/{member_id}", response_class=HTMLResponse)
def member(request: Request, me: Staff, member_id: Id, page: PageNumber = 1,
           placed_at: str = "") -> Response:
    """A member: details, orders; a distributor also rank, volumes, commissions, downline and
    placement (as of ``placed_at``, a day, when given)."""
    with transaction(engine_of(request)) as session, page_errors():
        day = _day(placed_at, "placed_at", request)
        found = member_page(session, member_id, team_page=page,
                            placed_at=None if day is None else day + timedelta(days=1))
        months = statement_months(engine_of(request), member_id, now=now_of(request),
                                  company_zone=company_zone_name(request))[:12]
        return render(request, "company_member.html", me, title=found.member.name, p=found,
                      statements=months)


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
                      source=source, since=since, until=until,
                      buyers=buyer_names(session, listing.rows))


@router.get("/company/orders/{order_id}", response_class=HTMLResponse)
def order(request: Request, me: Staff, order_id: Id) -> Response:
    with transaction(engine_of(request)) as session, page_errors():
        found = order_page(session, order_id)
        return render(request, "company_order.html", me, title="Order", p=found)


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
    from patronage.care.dispatch import recent_deliveries

    with page_errors():
        rules = load_rules()
        holdout = holdout_report(engine_of(request), now_of(request), rules)
    with transaction(engine_of(request)) as session:
        deliveries = recent_deliveries(session, limit=20)
    return render(request, "company_care.html", me, title="Care", rules=rules,
                  holdout=holdout, deliveries=deliveries,
                  zone=company_zone(request))


@router.get("/company/audit", response_class=HTMLResponse)
def audit_log(request: Request, me: Staff, action: str = "") -> Response:
    with transaction(engine_of(request)) as session:
        rows = audit.recent(session, limit=200, action=action or None)
    return render(request, "company_audit.html", me, title="Audit log", rows=rows,
                  action=action)
