"""Money out: a distributor's earnings (balance, movements, holds, next pay date) and the
staff's payouts page (balances owed, holds, adjustments waiting for approval, batches)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.access import Principal
from patronage.bounds import Id
from patronage.clock import Period, zone
from patronage.compliance.flags import FlagRules, flag_hold_source
from patronage.db.engine import transaction
from patronage.languages import N_, _, use_locale
from patronage.markets.core.currencies import exponent
from patronage.money import parse_amount
from patronage.payouts.adjustments import (
    add_adjustment,
    adjustments,
    approve_adjustment,
    reject_adjustment,
)
from patronage.payouts.batches import batches, build_batch, export_batch, standing
from patronage.payouts.core.ledger import ADJUSTMENT_REASONS, HoldReason, PayoutRules
from patronage.payouts.holds import HoldSource, open_holds, place_hold, release_hold
from patronage.payouts.methods import method_hold_source
from patronage.payouts.statement import earnings_of
from patronage.payouts.statement_pdf import rank_rows, statement_pdf, statement_rows
from patronage.payouts.statements import Statement, statement_months, statement_of
from patronage.payouts.words import REASON_WORDS, source_words
from patronage.web.deps import (
    Csrf,
    Distributor,
    PageError,
    Staff,
    company_zone_name,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import render, viewer_locale

router = APIRouter()

#: Hold reasons in words (translated when shown).
HOLD_WORDS = {
    "terminated": N_("Your account is terminated, so payments are stopped."),
    "erased": N_("Your account was erased, so payments are stopped."),
    "manual": N_("The company is holding your payments."),
    "returned": N_("A payment to you came back from the bank; the money is on your balance "
                   "until your payout details are fixed."),
    "below_minimum": N_("Your balance is below the minimum payout; it is carried forward to "
                        "the next pay date."),
    "negative_balance": N_("Your balance is below zero (a commission was taken back after a "
                           "refund); your next earnings repay it first."),
    "no_method": N_("You have no payout method yet."),
    "no_tax_id": N_("You have no valid tax id yet."),
    "method_cooling": N_("Your payout method changed recently; payments wait for the cooling "
                         "period."),
    "compliance_flag": N_("Your payments are held while the company looks into this:"),
}
#: Hold reasons whose particulars are a date rather than a staff note: said in words here.
COOLING_WORDS = N_("Your payout method changed on {changed}; payments are held until {until}.")


def hold_sources(request: Request) -> list[HoldSource]:
    """No payout method, no valid tax id, the cooling period and, when the company turns it
    on, open compliance flags: with the company's settings."""
    s = settings_of(request)
    sources = [method_hold_source(s.payout_cooling_days)]
    if s.flag_holds:
        sources.append(flag_hold_source(FlagRules.of(s), zone(s.company_timezone)))
    return sources


def rules_of(request: Request) -> PayoutRules:
    s = settings_of(request)
    return PayoutRules.from_text(s.payout_minimum, s.adjustment_approval_above, s.payout_day)


def hold_words(reason: HoldReason) -> str:
    if reason.code == "method_cooling":
        dates = re.findall(r"\d{4}-\d{2}-\d{2}", reason.detail)
        if len(dates) == 2:
            return _(COOLING_WORDS).format(changed=dates[0], until=dates[1])
    words = HOLD_WORDS.get(reason.code)
    if words and reason.code in ("no_method", "no_tax_id", "method_cooling"):
        return _(words)  # the particulars are in the words (in the viewer's language)
    text = _(words) if words else reason.code.replace("_", " ")
    return f"{text} {reason.detail}".strip() if reason.detail else text


@router.get("/earnings", response_class=HTMLResponse)
def earnings(request: Request, me: Distributor) -> Response:
    """My earnings: balance, why anything is held, next pay date, every movement."""
    assert me.member_id is not None
    with use_locale(viewer_locale(request, me)) as locale:
        with page_errors():
            view = earnings_of(engine_of(request), me.member_id, now=now_of(request),
                               rules=rules_of(request),
                               company_zone=company_zone_name(request),
                               extra_holds=hold_sources(request))
        holds = [hold_words(h) for h in view.holds]
        carried = {c: hold_words(r) for c, r in view.carried.items()}
        rows = [(m, source_words(m)) for m in view.movements]
        months = statement_months(engine_of(request), me.member_id, now=now_of(request),
                                  company_zone=company_zone_name(request))
        return render(request, "earnings.html", me, locale=locale, title=N_("My earnings"),
                      view=view, holds=holds, carried=carried, rows=rows, months=months)


def _statement(request: Request, member_id: int, period: str) -> Statement:
    with page_errors():
        return statement_of(engine_of(request), member_id, Period.parse(period),
                            now=now_of(request), company_zone=company_zone_name(request))


def _statement_page(request: Request, me: Principal, member_id: int, period: str,
                    pdf_url: str) -> Response:
    with use_locale(viewer_locale(request, me)) as locale:
        st = _statement(request, member_id, period)
        return render(request, "statement.html", me, locale=locale, title=N_("Statement"),
                      st=st, rows=statement_rows(st), ranks=rank_rows(st), pdf_url=pdf_url)


def _statement_file(request: Request, me: Principal, member_id: int, period: str) -> Response:
    with use_locale(viewer_locale(request, me)):
        st = _statement(request, member_id, period)
        data = statement_pdf(st, company_name=settings_of(request).company_name)
    name = f"statement-{st.month}-{member_id}.pdf"
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/earnings/statements/{period}", response_class=HTMLResponse)
def my_statement(request: Request, me: Distributor, period: str) -> Response:
    """My statement of a closed month: opening balance, every movement, closing balance."""
    assert me.member_id is not None
    return _statement_page(request, me, me.member_id, period,
                           f"/earnings/statements/{period}/pdf")


@router.get("/earnings/statements/{period}/pdf")
def my_statement_pdf(request: Request, me: Distributor, period: str) -> Response:
    assert me.member_id is not None
    return _statement_file(request, me, me.member_id, period)


@router.get("/company/members/{member_id}/statements/{period}", response_class=HTMLResponse)
def member_statement(request: Request, me: Staff, member_id: Id, period: str) -> Response:
    """Any member's statement of a closed month, for staff."""
    return _statement_page(request, me, member_id, period,
                           f"/company/members/{member_id}/statements/{period}/pdf")


@router.get("/company/members/{member_id}/statements/{period}/pdf")
def member_statement_pdf(request: Request, me: Staff, member_id: Id, period: str) -> Response:
    return _statement_file(request, me, member_id, period)


@router.get("/company/payouts", response_class=HTMLResponse)
def payouts(request: Request, me: Staff, done: str | None = None) -> Response:
    engine, now = engine_of(request), now_of(request)
    with engine.connect() as conn:
        owed = standing(conn, now=now, rules=rules_of(request), holds=hold_sources(request))
    with transaction(engine) as s:
        pending = adjustments(s, status="pending")
        recent = adjustments(s, limit=20)
        holds = open_holds(s)
        listed = batches(s)
    return render(request, "company_payouts.html", me, title=N_("Payouts"), owed=owed,
                  pending=pending, recent=recent, holds=holds, batches=listed,
                  reasons=[(r, REASON_WORDS[r]) for r in ADJUSTMENT_REASONS], done=done,
                  reason_words=REASON_WORDS)


def _member_id(text: str) -> int:
    if not text.strip().isdigit():
        raise PageError(400, _("Member: give the member's number."))
    return int(text.strip())


@router.post("/company/payouts/adjustments", dependencies=[Csrf])
def add(request: Request, me: Staff, member_id: Annotated[str, Form()],
        amount: Annotated[str, Form()], reason: Annotated[str, Form()],
        note: Annotated[str, Form()], currency: Annotated[str, Form()] = "",
        request_key: Annotated[str, Form()] = "") -> Response:
    """Add a bonus or deduction (in the member's currency unless one is given)."""
    engine, now = engine_of(request), now_of(request)
    with page_errors(), transaction(engine) as s:
        from patronage.markets.markets import market_of
        from patronage.network.members import get_member

        member = _member_id(member_id)
        code = currency.strip().upper() or market_of(s, get_member(s, member)).currency
        minor = parse_amount(amount, place="amount", exponent=exponent(code))
        a = add_adjustment(s, member, minor, reason, note, now=now, actor=me.actor,
                           rules=rules_of(request), currency=code,
                           request_key=request_key or None)
    return RedirectResponse(f"/company/payouts?done=adjustment-{a.status}", status_code=303)


@router.post("/company/payouts/adjustments/decide", dependencies=[Csrf])
def decide(request: Request, me: Staff, adjustment_id: Annotated[int, Form()],
           decision: Annotated[str, Form()] = "approve") -> Response:
    """A second staff member approves (or rejects) a pending adjustment."""
    engine, now = engine_of(request), now_of(request)
    act = reject_adjustment if decision == "reject" else approve_adjustment
    with page_errors(), transaction(engine) as s:
        a = act(s, adjustment_id, now=now, actor=me.actor)
    return RedirectResponse(f"/company/payouts?done=adjustment-{a.status}", status_code=303)


@router.post("/company/payouts/holds", dependencies=[Csrf])
def hold(request: Request, me: Staff, member_id: Annotated[str, Form()],
         note: Annotated[str, Form()]) -> Response:
    with page_errors(), transaction(engine_of(request)) as s:
        place_hold(s, _member_id(member_id), note, now=now_of(request), actor=me.actor)
    return RedirectResponse("/company/payouts?done=hold", status_code=303)


@router.post("/company/payouts/holds/release", dependencies=[Csrf])
def release(request: Request, me: Staff, hold_id: Annotated[int, Form()]) -> Response:
    with page_errors(), transaction(engine_of(request)) as s:
        release_hold(s, hold_id, now=now_of(request), actor=me.actor)
    return RedirectResponse("/company/payouts?done=released", status_code=303)


def _pay_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise PageError(400, _("Pay date: {value} is not a date written YYYY-MM-DD.").format(
            value=repr(text))) from exc


@router.post("/company/payouts/batches", dependencies=[Csrf])
def build(request: Request, me: Staff, pay_date: Annotated[str, Form()],
          confirm: Annotated[str, Form()] = "") -> Response:
    """Build the payout batch of a pay date: first what it would pay, to confirm; confirmed,
    the batch (the one already built for that date if there is one: never two)."""
    engine, now, day = engine_of(request), now_of(request), _pay_date(pay_date)
    if confirm != "yes":
        with engine.connect() as conn:
            owed = standing(conn, now=now, rules=rules_of(request),
                            holds=hold_sources(request))
        with transaction(engine) as s:
            existing = next((b for b in batches(s, limit=1000) if b.pay_date == day), None)
        return render(request, "company_payout_batch.html", me, title=N_("Payout batch"),
                      pay_date=day, owed=owed, existing=existing)
    with page_errors():
        batch = build_batch(engine, day, now=now, actor=me.actor, rules=rules_of(request),
                            holds=hold_sources(request))
    return RedirectResponse(f"/company/payouts?done=batch-{batch.id}#batches",
                            status_code=303)


@router.post("/company/payouts/batches/{batch_id}/export", dependencies=[Csrf])
def export(request: Request, me: Staff, batch_id: Id, kind: Annotated[str, Form()] = "",
           confirm: Annotated[str, Form()] = "") -> Response:
    """The batch's payment files to download (one file, or a zip of one file per rail and
    currency, with the payments held for want of a usable payout method); the batch is locked.
    Again: the same files."""
    if confirm != "yes":
        raise PageError(400, _("Confirm: tick the box to say the batch is checked; exporting "
                               "locks it."))
    settings = settings_of(request)
    with page_errors(), tempfile.TemporaryDirectory() as tmp:
        done = export_batch(engine_of(request), batch_id, Path(tmp), now=now_of(request),
                            actor=me.actor, kind=kind or None,
                            vault=settings.payout_vault(),
                            originator=settings.payout_originator())
        if not done.paths and not done.held:
            raise PageError(409, _("Batch {batch}: no payments for that kind of file.").format(
                batch=batch_id))
        if len(done.paths) == 1 and not done.held:
            path = done.paths[0]
            return Response(path.read_bytes(), media_type="application/octet-stream",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{path.name}"'})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in done.paths:
                z.write(path, path.name)
            if done.held:
                z.writestr("held.csv", "payment_ref,member_id,amount_minor,currency\n" + "".join(
                    f"{p.payment_ref},{p.member_id},{p.amount},{p.currency}\n"
                    for p in done.held))
    name = f"payouts-batch{batch_id}.zip"
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
