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
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, literal, or_, select
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
from patronage.payouts.core.files import (
    FILE_KINDS,
    FileKind,
    Originator,
    PayoutAccount,
    PayoutPayment,
    rail_for,
    write,
)
from patronage.payouts.core.ledger import (
    COUNTER_ACCOUNT,
    HOLD_RETURNED,
    PayoutRules,
    Selection,
    payment_ref,
    select_payable,
)
from patronage.payouts.holds import HoldSource, holds_of, place_hold
from patronage.payouts.ledger import Balances, all_balances, ledger_currencies
from patronage.payouts.methods import accounts_for
from patronage.payouts.secrets import Vault


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
                rules: PayoutRules, holds: Sequence[HoldSource] = ()) -> BatchSummary:
    """The batch of ``pay_date``: built now from the payable balances, or the one already
    built for that date. ``holds``: hold sources asked besides :data:`HOLD_SOURCES` (no payout
    method, no tax id, the cooling period: built from the settings by the caller)."""
    require_aware(now, place="now")
    with transaction(engine) as s:
        found = s.scalar(select(PayoutBatch).where(PayoutBatch.pay_date == pay_date))
        if found is not None:
            return _summary(s, found)
    try:
        with transaction(engine) as s:
            return _build(s, pay_date, now, actor, rules, holds)
    except IntegrityError:
        # Another build of the same date finished first: that is the batch.
        with transaction(engine) as s:
            found = s.scalar(select(PayoutBatch).where(PayoutBatch.pay_date == pay_date))
            if found is None:
                raise
            return _summary(s, found)


def _selection(conn: Connection, now: datetime, rules: PayoutRules, *,
               payable_only: bool = False, holds: Sequence[HoldSource] = ()
               ) -> tuple[Balances, Selection, dict[int, str]]:
    """Every balance (``payable_only``: only those at least the minimum, which the database
    picks), which of them a batch at ``now`` pays, carries or holds, and the codes of their
    currencies by number."""
    codes = {c: by_numeric(c) for c in ledger_currencies(conn)}
    minimum_of = {c: rules.minimum.of(code) for c, code in codes.items()}
    b = all_balances(conn, minimum_of if payable_only else None)
    first = np.ones(b.size, dtype=bool)
    first[1:] = b.member_id[1:] != b.member_id[:-1]  # in member order
    held_by = holds_of(conn, b.member_id[first].tolist(), now, extra=holds)
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


def standing(conn: Connection, *, now: datetime, rules: PayoutRules,
             holds: Sequence[HoldSource] = ()) -> dict[str, Standing]:
    """The balances owed per currency code, split into payable, held and carried forward
    (``holds``: as for :func:`build_batch`)."""
    b, sel, codes = _selection(conn, now, rules, holds=holds)
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
           rules: PayoutRules, holds: Sequence[HoldSource]) -> BatchSummary:
    batch = PayoutBatch(pay_date=pay_date, status="built", created_at=now,
                        created_by=actor[:100])
    s.add(batch)
    s.flush()
    conn = s.connection()
    b, selection, codes = _selection(conn, now, rules, payable_only=True, holds=holds)
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


def batch_payments(session: Session, batch_id: int, *,
                   sent: bool = False) -> list[PayoutPayment]:
    """A batch's payments in member and currency order, with each payee's name. ``sent``:
    only those its files carry: not returned, or returned after the batch was first exported
    (a payment held at its export for want of a usable payout method is not sent)."""
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound(f"payout batch {batch_id} does not exist")
    query = (select(PaymentRow.payment_ref, PaymentRow.member_id, Member.first_name,
                    Member.last_name, PaymentRow.amount, PaymentRow.currency)
             .join(Member, Member.id == PaymentRow.member_id)
             .where(PaymentRow.batch_id == batch_id))
    if sent:
        after = (PaymentRow.returned_at > batch.exported_at if batch.exported_at is not None
                 else literal(False))
        query = query.where(or_(PaymentRow.status == "paid", after))
    # Plain rows off the connection, and each currency's code looked up once: a batch holds
    # hundreds of thousands of payments.
    rows = session.connection().execute(
        query.order_by(PaymentRow.member_id, PaymentRow.currency)).all()
    codes = {int(c): by_numeric(int(c)) for c in {row[5] for row in rows}}
    return [PayoutPayment(ref, int(m), f"{first} {last}".strip(), int(a), codes[int(c)])
            for ref, m, first, last, a, c in rows]


#: ``csv`` is the plain list of a batch's payments, written here; the bank and e-wallet files
#: (``sepa``, ``nacha``, ``ewallet_csv``) come from :mod:`patronage.payouts.core.files`.
EXPORT_KINDS = ("csv", *FILE_KINDS)
CSV_COLUMNS = ("payment_ref", "member_id", "payee_name", "amount", "currency")
#: The file name's ending per kind.
SUFFIX = {"csv": "csv", "sepa": "xml", "nacha": "ach", "ewallet_csv": "csv"}
#: The note of the hold placed on a payment that no file can carry.
UNUSABLE = "no usable payout method at export"


def payments_csv(payments: Sequence[PayoutPayment]) -> bytes:
    """The batch as plain CSV: one row per payment, the amount as a decimal in its currency."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    places = {c: exponent(c) for c in {p.currency for p in payments}}
    writer.writerows([p.payment_ref, p.member_id, _cell(p.payee_name),
                      format_amount(p.amount, places[p.currency]), p.currency]
                     for p in payments)
    return out.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    """A name that a spreadsheet would run as a formula is quoted with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def split_by_rail(payments: Sequence[PayoutPayment], accounts: Mapping[int, PayoutAccount]
                  ) -> tuple[dict[tuple[FileKind, str], list[PayoutPayment]],
                             list[PayoutPayment]]:
    """The payments by file (the payee's method's rail, and the currency: one per file), and
    those no file can carry (no payout method, or one whose rail does not pay the currency)."""
    files: dict[tuple[FileKind, str], list[PayoutPayment]] = {}
    unusable: list[PayoutPayment] = []
    for p in payments:
        rail = rail_for(p, accounts.get(p.member_id))
        if rail is None:
            unusable.append(p)
        else:
            files.setdefault((rail, p.currency), []).append(p)
    return files, unusable


@dataclass(frozen=True)
class Export:
    """What an export wrote: the files (and the payments in each), and the payments held
    because no file could carry them (their money is back on the balance, held)."""

    paths: list[Path]
    payments: dict[str, int]
    held: list[PayoutPayment]


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def export_batch(engine: Engine, batch_id: int, out_dir: Path, *, now: datetime, actor: str,
                 kind: str | None = "csv", vault: Vault | None = None,
                 originator: Originator | None = None) -> Export:
    """Write the batch's files into ``out_dir`` and lock the batch (exported); exporting again
    writes the same files.

    ``csv``: one plain list of every payment sent. A bank or e-wallet kind (``sepa``,
    ``nacha``, ``ewallet_csv``), or ``None`` for every rail: the payees' accounts are decrypted
    with ``vault``, each payment goes to the file of its payout method's rail, one file per
    rail and currency, paid by ``originator`` on the pay date. A payment that no file can carry
    (no payout method, or a rail that does not pay its currency) is never dropped: in the same
    transaction it is recorded as returned (its money back on the balance) and the balance is
    held until staff release it."""
    require_aware(now, place="now")
    if kind is not None and kind not in EXPORT_KINDS:
        raise PatronageError(f"export: file kind {kind!r} is not one of "
                             f"{', '.join(EXPORT_KINDS)}")
    with transaction(engine) as s:
        batch = s.get(PayoutBatch, batch_id)
        if batch is None:
            raise NotFound(f"payout batch {batch_id} does not exist")
        stem = f"payouts-{batch.pay_date.isoformat()}-batch{batch.id}"
        out: dict[Path, bytes] = {}
        counts: dict[str, int] = {}
        held: list[PayoutPayment] = []
        if kind == "csv":
            payments = batch_payments(s, batch_id, sent=True)
            out[out_dir / f"{stem}.csv"] = payments_csv(payments)
            counts[f"{stem}.csv"] = len(payments)
        else:
            if vault is None or originator is None:
                raise PatronageError(f"export: the {kind or 'bank'} files need the payout keys "
                                     "and the company's payout details")
            payments = batch_payments(s, batch_id, sent=True)
            accounts = accounts_for(s, [p.member_id for p in payments], vault=vault)
            files, held = split_by_rail(payments, accounts)
            for p in held:  # already returned (a later export): nothing more to do
                return_payment(s, p.payment_ref, UNUSABLE, now=now, actor=actor)
            for (rail, currency), chosen in sorted(files.items()):
                if kind is not None and rail != kind:
                    continue
                name = f"{stem}-{rail}-{currency}.{SUFFIX[rail]}"
                out[out_dir / name] = write(rail, chosen, accounts, originator, batch.pay_date,
                                            created=batch.created_at)
                counts[name] = len(chosen)
        out_dir.mkdir(parents=True, exist_ok=True)
        for path, data in out.items():
            _write_file(path, data)
        if batch.status != "exported":
            batch.status, batch.exported_at, batch.exported_by = "exported", now, actor[:100]
            audit.record(s, actor=actor, action="payout.batch.export",
                         target=f"batch {batch.id}",
                         detail=f"{kind or 'every rail'}: {sum(counts.values())} payments in "
                                f"{len(out)} files, {len(held)} held", at=now)
    return Export(sorted(out), counts, held)


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



