"""My business: volumes, ranks and commissions; the open period's projection on demand."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from patronage.clock import Period
from patronage.compensation.reports import explain_member, hold_card, load_run, rank_card
from patronage.compensation.standing import active_standing
from patronage.compensation.withheld import withheld_summary
from patronage.db.engine import transaction
from patronage.languages import N_, _, use_locale
from patronage.markets.markets import plan_currency
from patronage.value.service import distributor_overview
from patronage.web.charts import bars, progress
from patronage.web.deps import (
    Distributor,
    PageError,
    company_zone,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
    read_engine_of,
)
from patronage.web.templating import TEMPLATES, render, viewer_locale
from patronage.web.views.business import (
    committed_runs,
    passed_over_rows,
    payout_rows,
    period_history,
)

router = APIRouter()


@router.get("/business", response_class=HTMLResponse)
def business(request: Request, me: Distributor) -> Response:
    """The page, in the viewer's language (the commission lines and charts too)."""
    with use_locale(viewer_locale(request, me)) as locale:
        return _business(request, me, locale)


def _business(request: Request, me: Distributor, locale: str) -> Response:
    assert me.member_id is not None
    engine, now = engine_of(request), now_of(request)
    with page_errors():
        # The dashboard's figures may be a moment old: from the read replica when there is one.
        overview = distributor_overview(read_engine_of(request), me.member_id, now, at_risk=0,
                                        viewer=me,
                                        company_zone=company_zone_name(request))
    with transaction(engine) as session:
        standing = active_standing(session, me.member_id, now,
                                   company_zone=company_zone_name(request))
        history = period_history(session, me.member_id)
        runs = committed_runs(session, 1)
        lines = payout_rows(session, me.member_id, runs[0].id, viewer=me) if runs else []
        passed = passed_over_rows(session, me.member_id, runs[0].id, viewer=me) if runs else []
        currency = plan_currency(session)
    withheld = withheld_summary(engine, member_id=me.member_id, limit=24)
    labels = [h.period for h in history]
    volume_chart = bars([(_("PV"), [h.pv for h in history]), (_("GV"), [h.gv for h in history])],
                        labels, label=_("Personal and group volume by period"), show_values=True,
                        height=200)
    earned_chart = bars([(_("Earned"), [h.earned for h in history])], labels,
                        label=_("Commissions by period"), show_values=True, height=200)
    mix_chart = bars([(_("Consumption"), [overview.consumption_cv]),
                      (_("Promotional"), [overview.promotional_cv]),
                      (_("From customers"), [overview.customer_cv])],
                     [_("last 12 months (CV)")],
                     label=_("Consumption and promotional volume"), height=140)
    return render(request, "business.html", me, locale=locale, title=N_("My business"),
                  o=overview, standing=standing,
                  history=history, lines=lines, passed=passed, last=runs[0] if runs else None,
                  withheld=withheld, currency=currency,
                  volume_chart=volume_chart, earned_chart=earned_chart, mix_chart=mix_chart,
                  customers_bar=progress(overview.customers, overview.target,
                                         label=_("Customers toward the target")),
                  open_period=str(Period.containing(now, company_zone(request))))


@router.get("/business/projection", response_class=HTMLResponse)
def projection(request: Request, me: Distributor, period: str | None = None) -> Response:
    """The rank report card and every payout explained, for the open period (a preview of the
    whole company's run) or a committed one, in the viewer's language."""
    with use_locale(viewer_locale(request, me)):
        return _projection(request, me, period)


def _projection(request: Request, me: Distributor, period: str | None) -> Response:
    assert me.member_id is not None
    engine, now = engine_of(request), now_of(request)
    template = TEMPLATES.get_template("business_projection.html")
    try:
        with page_errors():
            p = Period.parse(period) if period else Period.containing(now,
                                                                      company_zone(request))
            run = load_run(engine, p, company_zone=company_zone_name(request))
            mine = run.result.payouts.earner == run.facts.genealogy.index_of(
                np.array([me.member_id]))[0]
            projected = int(run.result.payouts.amount[mine].sum())
            zone_name = company_zone_name(request)
            rank, next_rank, reqs = rank_card(engine, me.member_id, p, company_zone=zone_name)
            explanation = explain_member(engine, me.member_id, p, viewer=me,
                                         company_zone=zone_name)
            with transaction(engine) as session:
                standing = active_standing(session, me.member_id, now, company_zone=zone_name)
            hold = None
            if standing is not None and standing.period == str(p):
                hold = hold_card(run, me.member_id, p, standing.last_paid_as)
    except PageError as exc:
        # A fragment for htmx to show in place (it swaps successful answers only).
        return HTMLResponse(template.render(error=exc.message))
    return HTMLResponse(template.render(period=str(p), projected=projected, rank=rank,
                                        next_rank=next_rank, reqs=reqs,
                                        explanation=explanation, hold=hold,
                                        hold_paid=standing.last_earned if standing else 0,
                                        hold_currency=standing.currency if standing else ""))
