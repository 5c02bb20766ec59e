"""A distributor's payout method and tax id: see them masked, set them, and see why payouts
are held. A refused field is shown again with the reason next to it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select, true

from patronage.care.channels.email import SmtpSender
from patronage.config import Settings
from patronage.db.engine import transaction
from patronage.db.markets import Market
from patronage.db.tables import Member
from patronage.errors import PatronageError, Problems
from patronage.languages import N_
from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.tax_forms import kinds_for
from patronage.payouts.methods import method_holds, method_view, send_notices, set_method
from patronage.payouts.tax_ids import set_tax_id, tax_id_view
from patronage.web.deps import Csrf, Distributor, PageError, engine_of, now_of, settings_of
from patronage.web.templating import render

router = APIRouter()

METHOD_FIELDS = ("kind", "holder", "iban", "bic", "routing_number", "account_number",
                 "account_type", "institution", "transit", "provider", "wallet_id")
TAX_FIELDS = ("country", "tax_kind", "number")
KINDS = (("us_ach", N_("US bank account (ACH)")), ("iban", N_("Bank account with an IBAN")),
         ("ca_eft", N_("Canadian bank account")), ("ewallet", N_("E-wallet or pay card")))
TAX_KIND_NAMES = {"ssn": N_("Social Security Number"), "ein": N_("Employer Identification Number"),
                  "sin": N_("Social Insurance Number"), "bn": N_("Business Number"),
                  "utr": N_("Unique Taxpayer Reference"), "rfc": N_("RFC"),
                  "vat": N_("VAT number")}


def _page(request: Request, me: Distributor, *, status: int = 200,
          method_errors: dict[str, str] | None = None, tax_errors: dict[str, str] | None = None,
          form: dict[str, str] | None = None, message: str | None = None) -> Response:
    assert me.member_id is not None
    settings = settings_of(request)
    now = now_of(request)
    with transaction(engine_of(request)) as session:
        member = session.get(Member, me.member_id)
        if member is None:
            raise PageError(404, f"member {me.member_id} not found")
        view = method_view(session, me.member_id, cooling_days=settings.payout_cooling_days,
                           now=now)
        tax = tax_id_view(session, me.member_id)
        holds = method_holds(session, [me.member_id], now,
                             cooling_days=settings.payout_cooling_days).get(me.member_id, [])
        market = session.scalar(select(Market.code).where(
            Market.id == member.market_id)) if member.market_id else None
        default = session.scalar(select(Market.code).where(Market.is_default == true()))
        country = (member.country or market or default or "").upper()
    return render(request, "payout_method.html", me, status=status,
                  title=N_("Payout method"), view=view, tax=tax,
                  holds=[h.code for h in holds], kinds=KINDS, tax_kind_names=TAX_KIND_NAMES,
                  tax_kinds=kinds_for(country), country=country,
                  method_errors=method_errors or {}, tax_errors=tax_errors or {},
                  form=form or {}, message=message)


async def _form(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    data = await request.form()
    return {name: str(data.get(name) or "").strip() for name in names}


def _notify(settings: Settings, engine_request: Request, now: datetime) -> None:
    """Send the change email after the answer (a failure leaves it queued for
    ``patronage payout-methods notify``)."""
    with transaction(engine_of(engine_request)) as session, SmtpSender(settings) as sender:
        send_notices(session, sender, company=settings.company_name,
                     mail_from=settings.mail_from, cooling_days=settings.payout_cooling_days,
                     now=now)


@router.get("/payout-method", response_class=HTMLResponse)
def payout_method_page(request: Request, me: Distributor) -> Response:
    return _page(request, me)


@router.post("/payout-method", response_class=HTMLResponse, dependencies=[Csrf])
async def payout_method_set(request: Request, me: Distributor,
                            background: BackgroundTasks) -> Response:
    assert me.member_id is not None
    form = await _form(request, METHOD_FIELDS)
    settings = settings_of(request)
    now = now_of(request)
    kind = form["kind"]
    account = PayoutAccount(
        kind, form["holder"], iban=form["iban"], bic=form["bic"],  # type: ignore[arg-type]
        routing_number=form["routing_number"], account_number=form["account_number"],
        account_type="savings" if form["account_type"] == "savings" else "checking",
        institution=form["institution"], transit=form["transit"], provider=form["provider"],
        wallet_id=form["wallet_id"])
    try:
        with transaction(engine_of(request)) as session:
            change = set_method(session, member_id=me.member_id, account=account,
                                actor=me.actor, vault=settings.payout_vault(), now=now)
    except Problems as exc:
        return _page(request, me, status=400, form=form,
                     method_errors={p.place: p.reason for p in exc.problems})
    except PatronageError as exc:
        raise PageError(400, exc.message) from exc
    if change is None:
        return _page(request, me, message=N_("That is already your payout method."))
    background.add_task(_notify, settings, request, now)
    return _page(request, me, message=N_(
        "Your payout method is saved. We sent you an email about the change; payouts wait "
        "for the safety period shown below."))


@router.post("/payout-method/tax-id", response_class=HTMLResponse, dependencies=[Csrf])
async def payout_method_tax_id(request: Request, me: Distributor) -> Response:
    assert me.member_id is not None
    form = await _form(request, TAX_FIELDS)
    settings = settings_of(request)
    try:
        with transaction(engine_of(request)) as session:
            set_tax_id(session, member_id=me.member_id, country=form["country"],
                       kind=form["tax_kind"], number=form["number"], actor=me.actor,
                       vault=settings.payout_vault(), now=now_of(request))
    except Problems as exc:
        form["number"] = ""  # never sent back to the browser
        return _page(request, me, status=400,
                     tax_errors={p.place: p.reason for p in exc.problems})
    except PatronageError as exc:
        raise PageError(400, exc.message) from exc
    return _page(request, me, message=N_("Your tax id is saved."))
