"""The product credit ledger: earned from rewards paid as credit, applied to the member's next
orders before the card is charged, expired, clawed back, refunded.

- **Earned** when a period commits (:func:`post_run`, called in the commit's transaction): each
  payout line of a reward the plan pays ``as = "credit"`` (the customer referral reward) becomes
  an ``earned`` entry of the line's amount in the earner's currency (the line's ``paid_amount``),
  naming its run and line. A clawback line of such a line becomes ``clawed_back`` (credits follow
  the clawback rules of cash). Each entry's key names its line, so posting again writes nothing.
- **Applied** by the autoship run (:func:`reserve_for_attempts`) and by any other order
  (:func:`apply_to_order`): the balance in the order's currency, up to the order's total, is
  taken off before the card is charged, as an ``applied`` entry naming the order. A charge that
  then fails gives it back (``released``), so the retry applies it again.
- **Expired** (:func:`expire`): credit older than a number of days that the member has not spent
  (spending takes the oldest credit first).
- **Refunded**: the credit part of a refunded order comes back (:func:`refund_credit`).

The balance of a member in a currency is the sum of their entries in it, never below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.bulk import insert_ignore, rows_matching
from patronage.db.compensation import PayoutLine
from patronage.db.credit import CreditEntry
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import N_, PatronageError
from patronage.markets.core.currencies import by_numeric

#: The payout lines a plan may pay as credit: the bonus type and its line.
CREDIT_LINES = {"customer_referral": "customer_referral"}


@dataclass(frozen=True)
class Balance:
    member_id: int
    currency: str
    amount: int


def balances(session: Session, member_id: int) -> list[Balance]:
    """The member's credit in each currency they have any (zero balances left out)."""
    rows = session.execute(
        select(CreditEntry.currency, func.sum(CreditEntry.amount))
        .where(CreditEntry.member_id == member_id)
        .group_by(CreditEntry.currency).order_by(CreditEntry.currency)).all()
    return [Balance(member_id, str(c), int(a)) for c, a in rows if a and int(a) > 0]


def balance(session: Session, member_id: int, currency: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.member_id == member_id, CreditEntry.currency == currency)) or 0)


@dataclass(frozen=True)
class CreditSummary:
    """What the customer's account shows: their credit in ``currency`` and whether it pays
    their next delivery (of ``next_delivery``, minor units; 0: none due) in full."""

    amount: int
    currency: str
    next_delivery: int

    @property
    def covers_next(self) -> bool:
        return 0 < self.next_delivery <= self.amount


def summary(session: Session, member_id: int, currency: str,
            next_delivery: int) -> CreditSummary | None:
    """The member's credit in ``currency`` against their next delivery; ``None`` when they
    have none."""
    amount = balance(session, member_id, currency)
    return CreditSummary(amount, currency, next_delivery) if amount > 0 else None


def entries(session: Session, member_id: int) -> list[CreditEntry]:
    """The member's ledger, oldest first."""
    return list(session.scalars(select(CreditEntry).where(CreditEntry.member_id == member_id)
                                .order_by(CreditEntry.at, CreditEntry.id)))


# -- earned, clawed back ------------------------------------------------------------------


def post_run(session: Session, run_id: int, as_credit: Sequence[str], now: datetime) -> int:
    """Post a committed run's credit lines to the ledger: an ``earned`` entry for each paid line
    of the rewards ``as_credit`` (those the run's plan pays as credit), a ``clawed_back`` entry
    for each clawback of a line that was earned as credit (whatever the run's plan says now).
    Idempotent (each entry is keyed by its line); returns how many entries were new."""
    require_aware(now, place="now")
    rows = session.execute(select(
        PayoutLine.id, PayoutLine.earner_id, PayoutLine.bonus, PayoutLine.amount,
        PayoutLine.paid_amount, PayoutLine.currency, PayoutLine.clawback_of).where(
        PayoutLine.run_id == run_id, PayoutLine.bonus.in_(sorted(set(CREDIT_LINES.values()))),
        PayoutLine.amount != 0).order_by(PayoutLine.id)).all()
    earning = {CREDIT_LINES[b] for b in as_credit if b in CREDIT_LINES}
    clawed = [r.clawback_of for r in rows if r.clawback_of is not None]
    earned_lines: set[int] = set()
    if clawed:
        found = session.scalars(select(CreditEntry.payout_line_id).where(
            CreditEntry.kind == "earned", CreditEntry.payout_line_id.in_(clawed)))
        earned_lines = {int(line) for line in found if line is not None}
    columns: dict[str, list[object]] = {name: [] for name in (
        "member_id", "kind", "amount", "currency", "key", "run_id", "payout_line_id", "at",
        "detail")}
    for line_id, earner, bonus, amount, paid, number, clawback_of in rows:
        money = int(paid if paid is not None else amount)
        if clawback_of is None:
            if bonus not in earning or money <= 0:
                continue
            kind, detail = "earned", f"{bonus.replace('_', ' ')} reward, run {run_id}"
        else:
            if clawback_of not in earned_lines or money >= 0:
                continue  # the line clawed back was paid in cash
            kind, detail = "clawed_back", f"clawback of payout line {clawback_of}"
        if number is None:
            raise PatronageError(N_("payout line %(line_id)s: no currency recorded; credit "
                                    "needs the earner's currency"),
                                 values={"line_id": line_id})
        for name, value in (("member_id", earner), ("kind", kind), ("amount", money),
                            ("currency", by_numeric(int(number))),
                            ("key", f"{kind}:line:{line_id}"), ("run_id", run_id),
                            ("payout_line_id", line_id), ("at", now), ("detail", detail)):
            columns[name].append(value)
    if not columns["key"]:
        return 0
    return insert_ignore(session.connection(), "credit_entries", columns, times=("at",))


# -- applied, released ----------------------------------------------------------------------


def lock_spenders(conn: Connection, members: Sequence[int]) -> None:
    """Hold the members' credit for this transaction, so that two processes spending the same
    member's credit at once spend it once: on PostgreSQL each member's row is locked (``FOR NO
    KEY UPDATE``, in member order: no deadlock; a row lock, so any number of members) until the
    transaction ends, and the second spender reads the balance after the first one's entry. On
    SQLite the database's single write lock does the same: a second writer that read the
    balance before the first one's entry cannot write (the database is busy) and its
    transaction is retried or refused, never applied twice."""
    if conn.dialect.name != "postgresql":
        return
    wanted = sorted(set(int(m) for m in members))
    for at in range(0, len(wanted), 5_000):
        conn.execute(select(Member.id).where(Member.id.in_(wanted[at:at + 5_000]))
                     .order_by(Member.id).with_for_update(key_share=True)).all()


def _available(conn: Connection, members: Sequence[int]) -> dict[tuple[int, str], int]:
    """The positive balances of ``members`` by (member, currency)."""
    wanted = sorted(set(members))
    found: dict[tuple[int, str], int] = {}
    for at in range(0, len(wanted), 5_000):
        part = wanted[at:at + 5_000]
        for member, currency, total in conn.execute(
                select(CreditEntry.member_id, CreditEntry.currency, func.sum(CreditEntry.amount))
                .where(CreditEntry.member_id.in_(part))
                .group_by(CreditEntry.member_id, CreditEntry.currency)):
            if total and int(total) > 0:
                found[(int(member), str(currency))] = int(total)
    return found


def reserve_for_attempts(engine: Engine, keys: Sequence[str], members: Sequence[int],
                         currencies: Sequence[str], amounts: Sequence[int],
                         subscriptions: Sequence[int], now: datetime) -> list[int]:
    """The credit each charge attempt uses (one per key: the member's balance in the currency,
    up to the amount, shared out in the given order), written as ``applied`` entries keyed by
    the attempt before the card is asked for the rest. An attempt that already has its entry
    (a run killed and run again) keeps it. Returns each attempt's credit."""
    entry_keys = [f"applied:{k}" for k in keys]
    with engine.begin() as conn:
        if conn.execute(select(CreditEntry.id).limit(1)).first() is None:
            return [0] * len(keys)  # no credit anywhere: the common case costs one query
        kept = {str(k): -int(a) for k, a in rows_matching(
            conn, "credit_entries", "key", entry_keys, ("key", "amount"))}
        holders = sorted({m for m, _c in _available(conn, members)})
        lock_spenders(conn, holders)  # then read again: another run may have spent some
        left = _available(conn, holders)
        credit: list[int] = []
        new: dict[str, list[object]] = {name: [] for name in (
            "member_id", "kind", "amount", "currency", "key", "subscription_id", "at",
            "detail")}
        for key, member, currency, amount, sub in zip(
                entry_keys, members, currencies, amounts, subscriptions, strict=True):
            if key in kept:
                credit.append(kept[key])
                continue
            take = min(left.get((member, currency), 0), max(int(amount), 0))
            credit.append(take)
            if take <= 0:
                continue
            left[(member, currency)] -= take
            for name, value in (("member_id", member), ("kind", "applied"),
                                ("amount", -take), ("currency", currency), ("key", key),
                                ("subscription_id", sub), ("at", now),
                                ("detail", f"autoship {key.removeprefix('applied:')}")):
                new[name].append(value)
        if new["key"]:
            insert_ignore(conn, "credit_entries", new, times=("at",))
    return credit


def settle_attempts(conn: Connection, keys: Sequence[str], credit: Sequence[int],
                    orders: Sequence[int | None], now: datetime) -> None:
    """In the run's settling transaction: the applied credit of each approved attempt names its
    order; that of each declined one (``None`` order) is given back."""
    released: dict[str, list[object]] = {name: [] for name in (
        "member_id", "kind", "amount", "currency", "key", "subscription_id", "at", "detail")}
    for key, used, order in zip(keys, credit, orders, strict=True):
        if used <= 0:
            continue
        if order is not None:
            conn.execute(update(CreditEntry).where(CreditEntry.key == f"applied:{key}")
                         .values(order_id=order))
            continue
        applied = conn.execute(select(CreditEntry.member_id, CreditEntry.currency,
                                      CreditEntry.subscription_id)
                               .where(CreditEntry.key == f"applied:{key}")).first()
        if applied is None:
            continue
        for name, value in (("member_id", applied[0]), ("kind", "released"), ("amount", used),
                            ("currency", applied[1]), ("key", f"released:{key}"),
                            ("subscription_id", applied[2]), ("at", now),
                            ("detail", f"card payment failed: autoship {key}")):
            released[name].append(value)
    if released["key"]:
        insert_ignore(conn, "credit_entries", released, times=("at",))


def apply_to_order(session: Session, member_id: int, order_id: int, total: int, currency: str,
                   now: datetime) -> int:
    """Take the member's credit in ``currency`` (up to ``total``) off an order before its card
    is charged; returns the credit applied (the card is charged ``total`` minus it). Once per
    order: asked again, it answers the credit already applied."""
    require_aware(now, place="now")
    key = f"applied:order:{order_id}"
    lock_spenders(session.connection(), [member_id])
    done = session.scalar(select(CreditEntry.amount).where(CreditEntry.key == key))
    if done is not None:
        return -int(done)
    take = min(balance(session, member_id, currency), max(total, 0))
    if take > 0:
        session.add(CreditEntry(member_id=member_id, kind="applied", amount=-take,
                                currency=currency, key=key, order_id=order_id, at=now,
                                detail=f"order {order_id}"))
        session.flush()
    return max(take, 0)


def credit_on_order(session: Session, order_id: int) -> int:
    """The credit an order was paid with."""
    return -int(session.scalar(select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.order_id == order_id, CreditEntry.kind == "applied")) or 0)


def refund_credit(session: Session, refund_id: int, order_id: int, amount: int,
                  now: datetime) -> int:
    """Give back up to ``amount`` of the credit ``order_id`` was paid with, for refund
    ``refund_id`` (once per refund); returns what came back."""
    key = f"refunded:refund:{refund_id}"
    done = session.scalar(select(CreditEntry.amount).where(CreditEntry.key == key))
    if done is not None:
        return int(done)
    applied = session.execute(select(CreditEntry.member_id, CreditEntry.currency,
                                     CreditEntry.amount).where(
        CreditEntry.order_id == order_id, CreditEntry.kind == "applied")).first()
    if applied is None:
        return 0
    already = int(session.scalar(select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.order_id == order_id, CreditEntry.kind == "refunded")) or 0)
    back = min(amount, -int(applied[2]) - already)
    if back <= 0:
        return 0
    session.add(CreditEntry(member_id=applied[0], kind="refunded", amount=back,
                            currency=applied[1], key=key, order_id=order_id, at=now,
                            detail=f"refund {refund_id} of order {order_id}"))
    session.flush()
    return back


# -- expired ------------------------------------------------------------------------------


def expire(engine: Engine, now: datetime, days: int) -> int:
    """Expire credit older than ``days`` days that has not been spent (spending takes the
    oldest credit first); one entry per member and currency per day, so running it twice a day
    expires nothing twice. Returns the total expired."""
    require_aware(now, place="now")
    if days < 1:
        raise PatronageError(N_("credit expiry: days must be at least 1, not %(days)s"),
                             values={"days": days})
    cutoff = now - timedelta(days=days)
    total = 0
    with transaction(engine) as s:
        by_owner: dict[tuple[int, str], list[tuple[str, int, datetime]]] = {}
        for member, currency, kind, amount, at in s.execute(select(
                CreditEntry.member_id, CreditEntry.currency, CreditEntry.kind,
                CreditEntry.amount, CreditEntry.at)):
            by_owner.setdefault((int(member), str(currency)), []).append(
                (str(kind), int(amount), at))
        for (member, currency), rows in sorted(by_owner.items()):
            balance_now = sum(a for _, a, _ in rows)
            old = sum(a for k, a, at in rows if k in ("earned", "refunded") and at < cutoff)
            spent = -sum(a for k, a, _ in rows if a < 0) - sum(
                a for k, a, _ in rows if k == "released")
            due = min(balance_now, old - spent)
            if due <= 0:
                continue
            key = f"expired:{member}:{currency}:{now.date().isoformat()}"
            if s.scalar(select(CreditEntry.id).where(CreditEntry.key == key)) is not None:
                continue
            s.add(CreditEntry(member_id=member, kind="expired", amount=-due, currency=currency,
                              key=key, at=now, detail=f"unspent after {days} days"))
            total += due
    return total
