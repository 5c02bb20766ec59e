"""My customers: the list with values and autoship, a customer's page with history and notes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.access import require_member
from patronage.bounds import Id, PageNumber
from patronage.db.engine import transaction
from patronage.languages import N_, gettext, use_locale
from patronage.network.members import viewer_country
from patronage.web.charts import radar
from patronage.web.deps import (
    Csrf,
    Distributor,
    StaffOrDistributor,
    company_zone,
    engine_of,
    now_of,
    page_errors,
)
from patronage.web.templating import render, viewer_locale
from patronage.web.views.customers import (
    FILTERS,
    FREE_REFERRALS,
    add_note,
    customer_detail,
    customer_list,
)

router = APIRouter()


def _named(scores: dict[str, float]) -> dict[str, float]:
    """The seven values named in the reader's language (the spokes of a radar)."""
    return {gettext(name): score for name, score in scores.items()}


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, me: Distributor, page: PageNumber = 1, q: str = "",
              order: str = "value", show: str = "all", days: int = 30) -> Response:
    assert me.member_id is not None
    with transaction(engine_of(request)) as session, page_errors():
        listing = customer_list(session, me.member_id, page=page, query=q, order=order,
                                show=show, now=now_of(request), tz=company_zone(request),
                                quiet_days=days)
    with use_locale(viewer_locale(request, me)):
        charts = {r.id: radar(_named(r.seven), size=96, labels=False,
                              label=gettext("Seven values of %(name)s") % {"name": r.name})
                  for r in listing.rows if r.seven}
    return render(request, "customers.html", me, title=N_("My customers"), listing=listing,
                  charts=charts, order=order, days=days, filters=FILTERS,
                  free_referrals=FREE_REFERRALS)


@router.get("/customers/{member_id}", response_class=HTMLResponse)
def customer(request: Request, member_id: Id, me: StaffOrDistributor) -> Response:
    with transaction(engine_of(request)) as session, page_errors():
        member = require_member(session, me, member_id)
        detail = customer_detail(session, member)
        with use_locale(viewer_locale(request, me)):
            chart = radar(_named({n: float(getattr(detail.value, n)) for n in (
                "consumption", "consistency", "referral", "rainmaker", "feedback",
                "testimonial", "emotional")}), label=gettext("Seven values")
            ) if detail.value else None
        return render(request, "customer.html", me, title=member.name, d=detail, chart=chart,
                      viewer_country=viewer_country(session, me.member_id))


@router.post("/customers/{member_id}/notes", dependencies=[Csrf])
def note(request: Request, member_id: Id, me: StaffOrDistributor,
         body: Annotated[str, Form()] = "") -> Response:
    with transaction(engine_of(request)) as session, page_errors():
        require_member(session, me, member_id)
        add_note(session, member_id, body, author=me.actor, now=now_of(request))
    return RedirectResponse(f"/customers/{member_id}#notes", status_code=303)
