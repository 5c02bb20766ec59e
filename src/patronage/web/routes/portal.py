"""The customer portal: autoship actions, profile, consent, unsubscribe, testimonial,
referral reward progress. A customer sees and changes only their own records."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from patronage import audit
from patronage.autoship.subscriptions import (
    Item,
    add_item,
    cancel,
    change_date,
    pause_until,
    remove_item,
    restart,
    resume,
    save_offers,
    skip_next,
    swap_item,
    undo_skip,
)
from patronage.bounds import Id
from patronage.care.links import make_token, unsubscribe
from patronage.clock import Period
from patronage.compensation.plan_versions import plan_in_force
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Product
from patronage.errors import NotFound, PatronageError
from patronage.languages import N_
from patronage.markets.markets import market_of
from patronage.network.members import get_member
from patronage.network.privacy import export_member_data
from patronage.shop.links import qr_svg, share_code, share_url
from patronage.web.deps import (
    Customer,
    PageError,
    check_csrf,
    company_zone,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import render
from patronage.web.views.portal import (
    change_consent,
    consents,
    credit_summary,
    next_delivery,
    order_history,
    referral_progress,
    submit_testimonial,
    subscriptions,
    update_profile,
)

router = APIRouter()
ACTIONS = ("skip", "undo-skip", "pause", "resume", "date", "swap", "add", "remove", "cancel",
           "restart")
#: What the page says after a change (by code, so no text from the address bar is shown).
DONE = {
    "skip": N_("Skipped. Your next delivery date is below."),
    "undo-skip": N_("The skipped delivery is back. Your next delivery date is below."),
    "pause": N_("Your autoship is paused."),
    "resume": N_("Your autoship is running again. Your next delivery date is below."),
    "date": N_("Date changed. Your next delivery date is below."),
    "swap": N_("Your autoship now has the new product."),
    "add": N_("The product is added to your autoship."),
    "remove": N_("The product is removed from your autoship."),
    "cancel": N_("Your autoship is cancelled. Thank you for being with us."),
    "restart": N_("Welcome back! Your autoship is running again."),
    "profile": N_("Your details are saved."),
    "consent": N_("Your contact preferences are saved."),
    "unsubscribe": N_("You are unsubscribed from our emails."),
    "testimonial": N_("Thank you for your story! We will read it soon."),
}


def _page(request: Request, me: Customer, *, message: str | None = None,
          error: str | None = None, status: int = 200) -> Response:
    assert me.member_id is not None
    now, tz = now_of(request), company_zone(request)
    period = Period.containing(now, tz)
    stored = plan_in_force(engine_of(request), period)
    with transaction(engine_of(request)) as session:
        member = get_member(session, me.member_id)
        currency = market_of(session, member).currency
        subs = subscriptions(session, me.member_id)
        offers = {s.id: save_offers(session, s.id) for s, _ in subs if s.status != "cancelled"}
        products = list(session.scalars(
            select(Product).where(
                Product.is_enrollment_pack.is_(False)).order_by(Product.name)))
        progress = referral_progress(session, me.member_id, period.start(tz), period.end(tz),
                                     stored.source() if stored is not None else None)
        given = consents(session, me.member_id)
        credit = credit_summary(session, me.member_id, currency, next_delivery(subs))
        code = share_code(session, me.member_id, now=now)
        history = order_history(session, me.member_id)
    link = share_url(settings_of(request).base_url, code)
    survey = "/s/" + make_token("survey", me.member_id, now,
                                secret=settings_of(request).secret_key)
    return render(request, "portal.html", me, status=status, title=N_("My account"), m=member,
                  survey=survey,
                  subs=subs, offers=offers, products=products, progress=progress,
                  today=now.astimezone(tz).date(),
                  consents=given, history=history, message=message, error=error,
                  period=str(period), currency=currency, credit=credit, share_link=link,
                  share_qr=qr_svg(link))


@router.get("/me", response_class=HTMLResponse)
def portal(request: Request, me: Customer, done: str | None = None) -> Response:
    return _page(request, me, message=DONE.get(done or ""))


@router.get("/me/data.json")
def my_data(request: Request, me: Customer) -> Response:
    """Download my data: everything stored about the signed-in customer, as JSON (notes that
    staff keep are given on request through the company, not here)."""
    assert me.member_id is not None
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        document = export_member_data(session, me.member_id, now, include_notes=False)
        audit.record(session, actor=me.actor, action="member.export",
                     target=f"member {me.member_id}", detail="personal data downloaded",
                     at=now)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="my-data-{me.member_id}.json"',
        "Cache-Control": "no-store"})


def _text(form: dict[str, str], key: str) -> str:
    return form.get(key, "").strip()


@router.post("/me/autoship/{subscription_id}/{action}", response_class=HTMLResponse)
async def autoship_action(request: Request, subscription_id: Id, action: str,
                          me: Customer) -> Response:
    """Skip or undo a skip, pause or resume, change date, swap, add or remove a product, cancel
    (one step: offers never block it) or restart."""
    await check_csrf(request)
    if action not in ACTIONS:
        raise PageError(404, f"autoship action {action!r} does not exist")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    now, actor, zone_name = now_of(request), me.actor, company_zone_name(request)
    try:
        with transaction(engine_of(request)) as session, page_errors():
            sub = session.get(Subscription, subscription_id)
            if sub is None or sub.member_id != me.member_id:
                raise NotFound(f"autoship {subscription_id} does not exist")
            if action == "skip":
                skip_next(session, subscription_id, now=now, actor=actor)
            elif action == "undo-skip":
                undo_skip(session, subscription_id, now=now, actor=actor, company_zone=zone_name)
            elif action == "resume":
                resume(session, subscription_id, now=now, actor=actor, company_zone=zone_name)
            elif action == "restart":
                restart(session, subscription_id, now=now, actor=actor, company_zone=zone_name)
            elif action == "pause":
                until = _date(_text(form, "until"), "pause until")
                pause_until(session, subscription_id, until, now=now, actor=actor,
                            company_zone=zone_name)
            elif action == "date":
                day = _text(form, "day")
                if not day.isdigit():
                    raise PatronageError(f"day of month: {day!r} is not a number from 1 to 28")
                change_date(session, subscription_id, int(day), now=now, actor=actor,
                            company_zone=zone_name)
            elif action == "swap":
                qty = _quantity(form) if _text(form, "quantity") else None
                swap_item(session, subscription_id, _text(form, "sku"), _text(form, "new_sku"),
                          qty, now=now, actor=actor)
            elif action == "add":
                add_item(session, subscription_id, Item(_text(form, "sku"), _quantity(form)),
                         now=now, actor=actor)
            elif action == "remove":
                remove_item(session, subscription_id, _text(form, "sku"), now=now, actor=actor)
            else:
                cancel(session, subscription_id, _text(form, "reason"), now=now, actor=actor)
    except PageError as exc:
        if exc.status == 404:
            raise
        return _page(request, me, error=exc.message, status=exc.status)
    return RedirectResponse(f"/me?done={action}", status_code=303)


def _quantity(form: dict[str, str]) -> int:
    qty = _text(form, "quantity") or "1"
    if not qty.isdigit():
        raise PatronageError(f"quantity: {qty!r} is not a whole number")
    return int(qty)


def _date(text: str, place: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise PatronageError(f"{place}: {text!r} is not a date (YYYY-MM-DD)") from exc


@router.post("/me/profile", response_class=HTMLResponse)
async def profile(request: Request, me: Customer) -> Response:
    await check_csrf(request)
    assert me.member_id is not None
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        with transaction(engine_of(request)) as session, page_errors():
            update_profile(session, me.member_id, form, actor=me.actor, now=now_of(request))
    except PageError as exc:
        return _page(request, me, error=exc.message, status=exc.status)
    return RedirectResponse("/me?done=profile", status_code=303)


@router.post("/me/consent", response_class=HTMLResponse)
async def consent(request: Request, me: Customer) -> Response:
    await check_csrf(request)
    assert me.member_id is not None
    form = await request.form()
    channel, granted = str(form.get("channel", "")), str(form.get("granted", "")) == "yes"
    try:
        with transaction(engine_of(request)) as session, page_errors():
            change_consent(session, me.member_id, channel, granted, actor=me.actor,
                           now=now_of(request), via="customer portal")
    except PageError as exc:
        return _page(request, me, error=exc.message, status=exc.status)
    return RedirectResponse("/me?done=consent", status_code=303)


@router.post("/me/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_me(request: Request, me: Customer) -> Response:
    await check_csrf(request)
    assert me.member_id is not None
    now = now_of(request)
    with transaction(engine_of(request)) as session, page_errors():
        unsubscribe(session, me.member_id, now, "customer portal")
        audit.record(session, actor=me.actor, action="consent.change",
                     target=f"member {me.member_id}", detail="unsubscribed from email",
                     at=now)
    return RedirectResponse("/me?done=unsubscribe", status_code=303)


@router.post("/me/testimonial", response_class=HTMLResponse)
async def testimonial(request: Request, me: Customer) -> Response:
    await check_csrf(request)
    assert me.member_id is not None
    form = await request.form()
    try:
        with transaction(engine_of(request)) as session, page_errors():
            submit_testimonial(session, me.member_id, str(form.get("text", "")),
                               consent=form.get("consent") == "yes", now=now_of(request))
    except PageError as exc:
        return _page(request, me, error=exc.message, status=exc.status)
    return RedirectResponse("/me?done=testimonial", status_code=303)
