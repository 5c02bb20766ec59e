"""Share links: ``/join/<code>`` (public: keeps the code in a first-party cookie and opens the
shop), the Share page with the member's own link and QR code (distributors and customers), and
a customer passing on a lead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from patronage.access import Principal
from patronage.db.engine import reading, transaction
from patronage.db.shop import Attribution, Lead
from patronage.db.tables import Member
from patronage.languages import N_
from patronage.shop.checkout import FormProblems
from patronage.shop.core.attribution import UNUSABLE, keep_link
from patronage.shop.leads import pass_on_lead
from patronage.shop.links import holder_of, qr_svg, share_code, share_url
from patronage.web.deps import (
    Customer,
    PageError,
    SignedIn,
    check_csrf,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.routes.shop import SHARE_COOKIE, set_signed_cookie, share_code_of
from patronage.web.templating import render

router = APIRouter()


@router.get("/join/{code}", response_class=HTMLResponse)
def join(request: Request, code: str) -> Response:
    """Open a share link: the code is kept in the visitor's cookie (the first or the last link
    wins, by company setting) and the shop opens. A code nobody has, or whose distributor is
    terminated, is not kept: the shop says the company's team looks after the visitor."""
    settings = settings_of(request)
    with reading(engine_of(request)) as session:
        holder = holder_of(session, code)
    usable = holder is not None and holder.status not in UNUSABLE and (
        holder.kind == "distributor" or holder.owner_status not in UNUSABLE)
    if not usable:
        return RedirectResponse("/shop?notice=link_inactive", status_code=303)
    current = share_code_of(request)
    kept = keep_link(current, code, settings.shop_link_wins)
    response = RedirectResponse("/shop", status_code=303)
    if kept != current:
        set_signed_cookie(request, response, SHARE_COOKIE, kept, settings.shop_link_days)
    return response


def _share_context(request: Request, member_id: int) -> dict[str, Any]:
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        code = share_code(session, member_id, now=now)
        member = session.get(Member, member_id)
        assert member is not None
        if member.kind == "distributor":
            joined = session.scalar(select(func.count()).select_from(Attribution).where(
                Attribution.code == code)) or 0
        else:
            joined = session.scalar(select(func.count()).select_from(Member).where(
                Member.referrer_id == member_id)) or 0
        leads = list(session.scalars(select(Lead).where(Lead.referrer_id == member_id)
                                     .order_by(Lead.created_at.desc()).limit(10)))
    url = share_url(settings_of(request).base_url, code)
    return {"share_link": url, "share_qr": qr_svg(url), "joined": joined, "leads": leads,
            "is_customer": member.kind != "distributor", "m": member,
            "days": settings_of(request).shop_link_days}


def _member(me: Principal) -> int:
    if me.kind == "staff" or me.member_id is None:
        raise PageError(403, "this page is for distributors and customers")
    return me.member_id


@router.get("/share", response_class=HTMLResponse)
def share(request: Request, me: SignedIn) -> Response:
    return render(request, "share.html", me, title=N_("Share"),
                  errors={}, lead={}, thanks=None, **_share_context(request, _member(me)))


@router.post("/share/lead", response_class=HTMLResponse)
async def lead(request: Request, me: Customer) -> Response:
    """A customer passes on a lead: it becomes a contact and a task for their distributor."""
    await check_csrf(request)
    member_id = _member(me)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    entered = {k: form.get(k, "") for k in ("lead_name", "lead_email", "lead_phone")}
    with page_errors():
        try:
            with transaction(engine_of(request)) as session:
                thanks = pass_on_lead(session, member_id, entered["lead_name"],
                                      entered["lead_email"], entered["lead_phone"],
                                      now=now_of(request)).name
        except FormProblems as exc:
            return render(request, "share.html", me, status=400, title=N_("Share"),
                          errors=exc.fields, lead=entered, thanks=None,
                          **_share_context(request, member_id))
    return render(request, "share.html", me, title=N_("Share"), errors={}, lead={},
                  thanks=thanks, **_share_context(request, member_id))
