"""Compliance: the staff page of customer-volume evidence and the public income disclosure."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import replace
from fractions import Fraction
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.clock import MAX_YEAR, MIN_YEAR, Period
from patronage.compensation.withheld import withheld_summary
from patronage.compliance.agreements import agreement_summary
from patronage.compliance.buyback import ReturnRules, buy_back, cool_off, recent_buy_backs
from patronage.compliance.disclosure import Disclosure, income_disclosure
from patronage.compliance.disclosure_pdf import disclosure_pdf
from patronage.compliance.evidence import load_evidence
from patronage.compliance.flags import MONTHLY, FlagRules, clear_flag, load_flags
from patronage.compliance.periods import latest_committed, rolling_year
from patronage.compliance.recruitment import reward_mix
from patronage.compliance.teams import teams_below
from patronage.csv_cells import safe_row
from patronage.db.engine import transaction
from patronage.languages.formatting import major_amount
from patronage.web.deps import (
    Csrf,
    PageError,
    Staff,
    company_zone,
    engine_of,
    now_of,
    page_errors,
    settings_of,
)
from patronage.web.templating import render

router = APIRouter()

Year = Annotated[int, Ge(MIN_YEAR), Le(MAX_YEAR)]
Percent = Annotated[int, Ge(0), Le(100)]


def _latest(request: Request) -> Period | None:
    with engine_of(request).connect() as conn:
        return latest_committed(conn)


@router.get("/company/compliance", response_class=HTMLResponse)
def compliance(request: Request, me: Staff, period: str | None = None,
               minimum: Percent = 50, used: Percent | None = None) -> Response:
    engine = engine_of(request)
    with page_errors():
        last = Period.parse(period) if period else _latest(request)
    if last is None:
        return render(request, "company_compliance.html", me, title="Compliance", empty=True)
    first, _ = rolling_year(last)
    rules = FlagRules.of(settings_of(request))
    if used is None:
        used = rules.used_share // 100
    with page_errors():
        month = load_evidence(engine, last, last)
        year = load_evidence(engine, first, last)
        rewards = reward_mix(engine, first, last)
        flags = load_flags(engine, last, replace(rules, used_share=used * 100),
                           company_zone(request))
    share = Fraction(minimum, 100)
    with transaction(engine) as session:
        returns_count, returns = recent_buy_backs(session)
        agreements = agreement_summary(session, settings_of(request).agreement_version)
    below_count, below = teams_below(engine, year.distributors, share)
    withheld = withheld_summary(engine, limit=50)
    monthly = [r for r in rewards if r.rank is None]
    return render(request, "company_compliance.html", me, title="Compliance", empty=False,
                  month=month, year=year, monthly=monthly, below=below,
                  below_count=below_count, minimum=minimum, period=str(last), flags=flags,
                  used=used, flag_rules=rules, returns=returns, returns_count=returns_count,
                  rules=ReturnRules.of(settings_of(request)),
                  request_key=secrets.token_urlsafe(12), agreements=agreements,
                  withheld=withheld)


@router.post("/company/compliance/flags/clear", dependencies=[Csrf])
def clear_loading_flag(request: Request, me: Staff, member_id: Annotated[int, Form()],
                       period: Annotated[str, Form(max_length=7)],
                       note: Annotated[str, Form(max_length=500)],
                       kind: Annotated[str, Form(max_length=24)] = "loading",
                       subject: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Clear a distributor's compliance flag with a note: of a month (``period``) for the
    monthly kinds, the flag's ``subject`` for shared accounts. With flags as payout holds,
    clearing lifts the hold."""
    with page_errors(), transaction(engine_of(request)) as session:
        month = Period.parse(period)
        clear_flag(session, member_id, month if kind in MONTHLY else subject, note,
                   by=me.actor, now=now_of(request), kind=kind)
    return RedirectResponse(f"/company/compliance?period={month}#loading", status_code=303)


@router.post("/company/compliance/buy-backs", dependencies=[Csrf])
def record_buy_back(request: Request, me: Staff, member_id: Annotated[int, Form()],
                    request_key: Annotated[str, Form(min_length=1, max_length=64)],
                    kind: Annotated[str, Form()] = "buy_back",
                    order_id: Annotated[str, Form(max_length=20)] = "",
                    note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Record a buy-back of an order (at the company's share) or a cooling-off cancellation;
    the refund claws back the commissions at the next run."""
    rules = ReturnRules.of(settings_of(request))
    with page_errors(), transaction(engine_of(request)) as session:
        if kind == "cooling_off":
            cool_off(session, member_id, now=now_of(request), rules=rules, key=request_key,
                     note=note, company_zone=settings_of(request).company_timezone)
        elif kind == "buy_back":
            if not order_id.strip().isdigit():
                raise PageError(422, "order_id: the number of the order returned")
            buy_back(session, member_id, int(order_id), now=now_of(request), rules=rules,
                     key=request_key, note=note,
                     company_zone=settings_of(request).company_timezone)
        else:
            raise PageError(422, f"kind: {kind!r} is neither buy_back nor cooling_off")
    return RedirectResponse("/company/compliance?done=buy-back#buy-backs", status_code=303)


@router.get("/income-disclosure", response_class=HTMLResponse)
def disclosure_latest(request: Request) -> Response:
    last = _latest(request)
    if last is None:
        raise PageError(404, "No income disclosure yet: no month has been committed.")
    return RedirectResponse(f"/income-disclosure/{last.year}", status_code=303)


def _disclosure(request: Request, year: int) -> Disclosure:
    with page_errors():
        return income_disclosure(engine_of(request), year, company_zone(request))


@router.get("/income-disclosure/{year}.csv")
def disclosure_csv(request: Request, year: Year) -> Response:
    found = _disclosure(request, year)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["table", "paid_as_rank", "participants", "share", "earned_nothing", "mean",
                  "median", "p10", "p25", "p75", "p90", "p99", "lowest", "highest",
                  "mean_months_at_rank", "currency"])
    for table, rows in (("all", found.everyone), ("full_year", found.full_year)):
        for r in rows:
            label = "all" if r.rank is None else (found.rank_name(r.rank) or "no rank")
            amounts = [r.mean, r.median, *(r.percentiles[p] for p in (10, 25, 75, 90, 99)),
                       r.lowest, r.highest]
            out.writerow(safe_row([
                table, label, r.headcount, f"{float(r.share):.4f}", r.earned_nothing,
                *(str(major_amount(a, found.currency)) for a in amounts),
                "" if r.mean_months_at_rank is None else f"{float(r.mean_months_at_rank):.1f}",
                found.currency]))
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="income-disclosure-{year}.csv"'})


@router.get("/income-disclosure/{year}.pdf")
def disclosure_pdf_file(request: Request, year: Year) -> Response:
    found = _disclosure(request, year)
    body = disclosure_pdf(found, settings_of(request).typical_expenses)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="income-disclosure-{year}.pdf"'})


@router.get("/income-disclosure/{year}", response_class=HTMLResponse)
def disclosure_page(request: Request, year: Year) -> Response:
    found = _disclosure(request, year)
    return render(request, "income_disclosure.html", None, title="Income disclosure",
                  d=found, expenses=settings_of(request).typical_expenses,
                  currency=found.currency)
