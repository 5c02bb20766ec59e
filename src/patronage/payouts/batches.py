"""Payout batches: the payments of one pay date, their export, and returned payments.

Building the batch of a pay date, in one transaction: every balance (member and currency) that
is not held and is at least the minimum payout of its currency gets one payment, and each
payment posts its ``paid`` movement (the balance goes to zero). The batch of a date is built
once: building it again returns the same batch, and a balance already paid is zero, so nothing
is paid twice. A build killed half-way leaves nothing behind (the transaction rolls back), so
running it again gives one payment per member. Exporting writes the batch's file and locks it;
exporting again writes the same file.

A returned payment (the bank sends it back) posts a ``returned`` movement that puts the money
back on the balance, and holds the balance (``returned``) until staff release it (after the
distributor fixes their payout details).
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.db.bulk import write_rows
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry, PayoutBatch
from patronage.db.payouts import PayoutPayment as PaymentRow
from patronage.db.tables import Member
from patronage.errors import NotFound, PatronageError
from patronage.markets.core.currencies import by_numeric, exponent
from patronage.money import format_amount
from patronage.payouts.core.ledger import (
    COUNTER_ACCOUNT,
    HOLD_RETURNED,
    PayoutRules,
    Selection,
    payment_ref,
    select_payable,
)
from patronage.payouts.holds import holds_of, place_hold
from patronage.payouts.ledger import Balances, all_balances, ledger_currencies


@dataclass(frozen=True)
class PayoutPayment:
    """One payment as the file writers take it: amount in minor units of ``currency``."""

    payment_ref: str
    member_id: int
    payee_name: str
    amount: int
    currency: str


@dataclass(frozen=True)
class BatchSummary:
    id: int
    pay_date: date
    status: str
    created_at: datetime
    created_by: str
    exported_at: datetime | None
    payments: int
    returned: int
    #: Total paid per currency code.
    totals: dict[str, int]
    #: Whether this call built it (False: it was already built).
    built_now: bool = False


def _summary(session: Session, batch: PayoutBatch, built_now: bool = False) -> BatchSummary:
    rows = session.execute(select(PaymentRow.currency, PaymentRow.status, func.count(),
                                  func.sum(PaymentRow.amount))
                           .where(PaymentRow.batch_id == batch.id)
                           .group_by(PaymentRow.currency, PaymentRow.status)).all()
    totals: dict[str, int] = {}
    count = returned = 0
    for currency, status, n, amount in rows:
        count += int(n)
        if status == "returned":
            returned += int(n)
        code = by_numeric(int(currency))
        totals[code] = totals.get(code, 0) + int(amount)
    return BatchSummary(batch.id, batch.pay_date, batch.status, batch.created_at,
                        batch.created_by, batch.exported_at, count, returned,
                        dict(sorted(totals.items())), built_now)


def build_batch(engine: Engine, pay_date: date, *, now: datetime, actor: str,
                rules: PayoutRules) -> BatchSummary:
    """The batch of ``pay_date``: built now from the payable balances, or the one already
    built for that date."""
    require_aware(now, place="now")
    with transaction(engine) as s:
        found = s.scalar(select(PayoutBatch).where(PayoutBatch.pay_date == pay_date))
        if found is not None:
            return _summary(s, found)
    try:
        with transaction(engine) as s:
            return _build(s, pay_date, now, actor, rules)
    except IntegrityError:
        # Another build of the same date finished first: that is the batch.
        with transaction(engine) as s:
            found = s.scalar(select(PayoutBatch).where(PayoutBatch.pay_date == pay_date))
            if found is None:
                raise
            return _summary(s, found)


def _selection(conn: Connection, now: datetime, rules: PayoutRules, *,
               payable_only: bool = False) -> tuple[Balances, Selection, dict[int, str]]:
    """Every balance (``payable_only``: only those at least the minimum, which the database
    picks), which of them a batch at ``now`` pays, carries or holds, and the codes of their
    currencies by number."""
    codes = {c: by_numeric(c) for c in ledger_currencies(conn)}
    minimum_of = {c: rules.minimum.of(code) for c, code in codes.items()}
    b = all_balances(conn, minimum_of if payable_only else None)
    first = np.ones(b.size, dtype=bool)
    first[1:] = b.member_id[1:] != b.member_id[:-1]  # in member order
    held_by = holds_of(conn, b.member_id[first].tolist(), now)
    held = np.isin(b.member_id, np.fromiter(held_by, dtype=np.int64, count=len(held_by)))
    minimum = np.zeros(b.size, dtype=np.int64)
    for number, least in minimum_of.items():
        minimum[b.currency == number] = least
    return b, select_payable(b.amount, minimum, held), codes


@dataclass(frozen=True)
class Standing:
    """What the company owes in one currency, split as a batch at that moment would: payable
    now, held, and carried forward (below the minimum; below zero counts here, negative)."""

    payable: int
    payable_members: int
    held: int
    held_members: int
    carried: int
    carried_members: int


def standing(conn: Connection, *, now: datetime, rules: PayoutRules) -> dict[str, Standing]:
    """The balances owed per currency code, split into payable, held and carried forward."""
    b, sel, codes = _selection(conn, now, rules)
    out: dict[str, Standing] = {}
    for number, code in sorted(codes.items(), key=lambda kv: kv[1]):
        mine = b.currency == number
        parts = []
        for index in (sel.paid, sel.held, sel.carried):
            chosen = index[mine[index]]
            parts += [int(b.amount[chosen].sum()), int(chosen.size)]
        out[code] = Standing(*parts)
    return out


def _build(s: Session, pay_date: date, now: datetime, actor: str,
           rules: PayoutRules) -> BatchSummary:
    batch = PayoutBatch(pay_date=pay_date, status="built", created_at=now,
                        created_by=actor[:100])
    s.add(batch)
    s.flush()
    conn = s.connection()
    b, selection, codes = _selection(conn, now, rules, payable_only=True)
    chosen = selection.paid
    member, currency, amount = b.member_id[chosen], b.currency[chosen], b.amount[chosen]
    refs = [payment_ref(batch.id, m, codes[c])
            for m, c in zip(member.tolist(), currency.tolist(), strict=True)]
    write_rows(conn, "payout_payments", {
        "batch_id": np.full(chosen.size, batch.id), "member_id": member, "amount": amount,
        "currency": currency, "payment_ref": refs, "status": ["paid"] * chosen.size})
    p = PaymentRow
    conn.execute(insert(LedgerEntry).from_select(
        ["member_id", "counter_account", "kind", "amount", "currency", "source_id",
         "posted_at", "posted_by"],
        select(p.member_id, literal(COUNTER_ACCOUNT["paid"]), literal("paid"), -p.amount,
               p.currency, p.id, literal(now, LedgerEntry.posted_at.type),
               literal(actor[:100], LedgerEntry.posted_by.type))
        .where(p.batch_id == batch.id)))
    audit.record(s, actor=actor, action="payout.batch.build", target=f"batch {batch.id}",
                 detail=f"pay date {pay_date.isoformat()}: {chosen.size} payments", at=now)
    return _summary(s, batch, built_now=True)


def batches(session: Session, limit: int = 24) -> list[BatchSummary]:
    """The latest batches, newest pay date first."""
    found = session.scalars(select(PayoutBatch).order_by(PayoutBatch.pay_date.desc())
                            .limit(limit)).all()
    return [_summary(session, b) for b in found]


def batch_payments(session: Session, batch_id: int) -> list[PayoutPayment]:
    """A batch's payments in reference order, with each payee's name."""
    if session.get(PayoutBatch, batch_id) is None:
        raise NotFound(f"payout batch {batch_id} does not exist")
    rows = session.execute(select(PaymentRow.payment_ref, PaymentRow.member_id,
                                  Member.first_name, Member.last_name, PaymentRow.amount,
                                  PaymentRow.currency)
                           .join(Member, Member.id == PaymentRow.member_id)
                           .where(PaymentRow.batch_id == batch_id)
                           .order_by(PaymentRow.member_id, PaymentRow.currency)).all()
    return [PayoutPayment(ref, int(m), f"{first} {last}".strip(), int(a), by_numeric(int(c)))
            for ref, m, first, last, a, c in rows]


#: The file kinds this module writes itself; the bank and e-wallet formats (``sepa``,
#: ``nacha``, ``ewallet_csv``) come from ``patronage.payouts.core.files`` (see
#: :func:`payment_file`).
OWN_KINDS = ("csv",)
CSV_COLUMNS = ("payment_ref", "member_id", "payee_name", "amount", "currency")


def payments_csv(payments: Sequence[PayoutPayment]) -> bytes:
    """The batch as plain CSV: one row per payment, the amount as a decimal in its currency."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    places: dict[str, int] = {}
    for p in payments:
        if p.currency not in places:
            places[p.currency] = exponent(p.currency)
        writer.writerow([p.payment_ref, p.member_id, _cell(p.payee_name),
                         format_amount(p.amount, places[p.currency]), p.currency])
    return out.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    """A name that a spreadsheet would run as a formula is quoted with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def payment_file(kind: str, payments: Sequence[PayoutPayment], *, batch_id: int,
                 pay_date: date) -> bytes:
    """The hook where the file writers plug in: ``csv`` here; any other kind is asked of
    ``patronage.payouts.core.files.write(kind, payments, batch_id=..., pay_date=...)``."""
    if kind == "csv":
        return payments_csv(payments)
    try:
        files = importlib.import_module("patronage.payouts.core.files")
    except ModuleNotFoundError as exc:
        raise PatronageError(f"export: file kind {kind!r} is not available here (only "
                             f"{', '.join(OWN_KINDS)})") from exc
    data = files.write(kind, payments, batch_id=batch_id, pay_date=pay_date)
    assert isinstance(data, bytes)
    return data


def export_batch(engine: Engine, batch_id: int, out_dir: Path, *, now: datetime, actor: str,
                 kind: str = "csv") -> Path:
    """Write the batch's file into ``out_dir`` and lock the batch (exported). Exporting again
    writes the same file."""
    require_aware(now, place="now")
    with transaction(engine) as s:
        batch = s.get(PayoutBatch, batch_id)
        if batch is None:
            raise NotFound(f"payout batch {batch_id} does not exist")
        payments = batch_payments(s, batch_id)
        data = payment_file(kind, payments, batch_id=batch_id, pay_date=batch.pay_date)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"payouts-{batch.pay_date.isoformat()}-batch{batch.id}.{kind}"
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        if batch.status != "exported":
            batch.status, batch.exported_at, batch.exported_by = "exported", now, actor[:100]
            audit.record(s, actor=actor, action="payout.batch.export",
                         target=f"batch {batch.id}", detail=f"{kind}: {len(payments)} payments",
                         at=now)
    return path


def return_payment(session: Session, ref: str, reason: str, *, now: datetime,
                   actor: str) -> bool:
    """The bank returned a payment: its money goes back on the balance and the balance is held
    (``returned``) until staff release it. False when it was already recorded as returned."""
    require_aware(now, place="now")
    payment = session.scalar(select(PaymentRow).where(PaymentRow.payment_ref == ref.strip())
                             .with_for_update())
    if payment is None:
        raise NotFound(f"returned payment: no payment has the reference {ref.strip()!r}")
    if not reason.strip():
        raise PatronageError(f"returned payment {ref}: the reason the bank gave is required")
    if payment.status == "returned":
        return False
    payment.status, payment.returned_at = "returned", now
    payment.return_reason = reason.strip()[:200]
    session.add(LedgerEntry(member_id=payment.member_id, counter_account=COUNTER_ACCOUNT[
        "returned"], kind="returned", amount=payment.amount, currency=payment.currency,
        source_id=payment.id, posted_at=now, posted_by=actor[:100]))
    session.flush()
    place_hold(session, payment.member_id, f"payment {payment.payment_ref} returned: "
               f"{reason.strip()}", now=now, actor=actor, reason=HOLD_RETURNED)
    return True


RETURNS_COLUMNS = ("payment_ref", "reason")


def read_returns(text: str, *, place: str = "returns file") -> list[tuple[str, str]]:
    """The (payment reference, reason) rows of a returns CSV with a header naming
    ``payment_ref`` and ``reason``; refused naming the line of any bad row."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in RETURNS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PatronageError(f"{place}: line 1: the header lacks {', '.join(missing)}")
    out: list[tuple[str, str]] = []
    for row in reader:
        ref, reason = (row.get("payment_ref") or "").strip(), (row.get("reason") or "").strip()
        if not ref or not reason:
            raise PatronageError(f"{place}: line {reader.line_num}: payment_ref and reason "
                                 "are both required")
        out.append((ref, reason))
    return out


def record_returns(engine: Engine, rows: Sequence[tuple[str, str]], *, now: datetime,
                   actor: str) -> int:
    """Record every returned payment of a returns file, all or none. Returns how many were
    new (payments already returned are passed over)."""
    with transaction(engine) as s:
        try:
            return sum(return_payment(s, ref, reason, now=now, actor=actor)
                       for ref, reason in rows)
        except NotFound as exc:
            raise PatronageError(f"returns file: {exc.message}; nothing was recorded") from exc


def locked(session: Session, batch_id: int) -> bool:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound(f"payout batch {batch_id} does not exist")
    return batch.status == "exported"



