"""The demo company's money out: its committed months are on the ledger (each commit posts its
run); then a finance clerk adds a prize that a controller approves, staff hold a few balances
with reasons, the latest pay date's batch pays everyone payable, and the bank returns one
payment. Given the payout keys and the company's details, the batch holds the balances of
those without a usable payout method (or tax id, or in the cooling period) and its bank files
are exported, as ``patronage payouts export`` writes them."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from patronage.clock import Period, zone
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry
from patronage.db.tables import Member
from patronage.money import format_amount
from patronage.payouts.adjustments import add_adjustment, approve_adjustment
from patronage.payouts.batches import (
    batch_payments,
    build_batch,
    export_batch,
    return_payment,
)
from patronage.payouts.core.files import Originator
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import HoldSource, place_hold
from patronage.payouts.secrets import Vault
from patronage.payouts.statements import statements_for

CLERK = "staff:finance@demo.patronage.example"
CONTROLLER = "staff:controller@demo.patronage.example"
HOLD_NOTES = ("Identity documents requested on the compliance review.",
              "Disputed retail sale under review.",
              "Payout details being checked after a bank change.")


def last_pay_date(today: date, pay_day: int) -> date:
    """The latest pay date on or before ``today``."""
    if today.day >= pay_day:
        return today.replace(day=pay_day)
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return date(year, month, pay_day)


def pay_demo(engine: Engine, now: datetime, *, company_zone: str,
             rules: PayoutRules | None = None, holds: Sequence[HoldSource] = (),
             export: tuple[Vault, Originator] | None = None) -> dict[str, int | str]:
    """Adjustment with approval, holds, the latest batch and one returned payment; returns
    what it did, for the demo's summary."""
    rules = rules or PayoutRules()
    with transaction(engine) as s:
        earners = s.execute(
            select(LedgerEntry.member_id, func.sum(LedgerEntry.amount).label("total"))
            .join(Member, Member.id == LedgerEntry.member_id)
            .where(Member.status == "active")
            .group_by(LedgerEntry.member_id).order_by(func.sum(LedgerEntry.amount).desc(),
                                                      LedgerEntry.member_id).limit(6)).all()
        if not earners:
            return {"payout batch": "none (nothing earned)"}
        top = int(earners[0][0])
        prize = add_adjustment(s, top, 75000, "promotion", "Top recruiter trip prize, paid "
                               "as cash", now=now, actor=CLERK, rules=rules,
                               request_key="demo-prize")
        if prize.status == "pending":
            approve_adjustment(s, prize.id, now=now, actor=CONTROLLER)
        held = [int(m) for m, _ in earners[3:6]]
        for member, note in zip(held, HOLD_NOTES, strict=False):
            place_hold(s, member, note, now=now, actor=CLERK)
    today = now.astimezone(zone(company_zone)).date()
    batch = build_batch(engine, last_pay_date(today, rules.pay_day), now=now, actor=CLERK,
                        rules=rules, holds=holds)
    with transaction(engine) as s:
        payments = batch_payments(s, batch.id)
        if payments:
            return_payment(s, payments[0].payment_ref, "R03 no account / unable to locate "
                           "account", now=now, actor=CLERK)
    done: dict[str, int | str] = {
        "payout batch": f"{batch.pay_date.isoformat()}: {batch.payments:,} payments, "
        + ", ".join(f"{format_amount(a)} {c}" for c, a in batch.totals.items()),
        "payout holds placed": len(held), "payments returned": 1 if payments else 0}
    if export is not None:
        vault, originator = export
        with tempfile.TemporaryDirectory() as tmp:
            files = export_batch(engine, batch.id, Path(tmp), now=now, actor=CLERK, kind=None,
                                 vault=vault, originator=originator)
        done["payout files (patronage payouts export)"] = ", ".join(
            f"{name.rsplit('-', 2)[-2]} {name.rsplit('-', 1)[-1].split('.')[0]}: {n}"
            for name, n in files.payments.items()) or "none"
    return done


def statement_counts(engine: Engine, now: datetime, company_zone: str) -> dict[str, int]:
    """The last closed month's statements (every distributor with money: on the web under
    *My earnings*, as PDF with ``patronage payouts statements``), checked to add up."""
    month = Period.containing(now, zone(company_zone)).previous()
    n = 0
    for st in statements_for(engine, month, now=now, company_zone=company_zone):
        st.check()
        n += 1
    return {f"monthly statements of {month}": n}
