"""Money out: the earnings ledger, adjustments, holds, payout batches and their payments.

The ledger (``ledger_entries``) is double-entry in transfer form: every row moves ``amount``
(minor units of ``currency``, an ISO 4217 number as payout lines store it) from the company
account ``counter_account`` to the member's account ``member:<member_id>`` (a negative amount
moves it back). Each movement therefore carries its counter-entry in the same row, debits and
credits always balance, and a balance is the sum of its rows: no total is stored anywhere.
Rows are appended and never changed. ``(member_id, currency, kind, source_id)`` is unique, so
a movement posted twice is posted once; that one index also answers balances (on PostgreSQL the
amount rides in it). ``ledger_postings`` records each committed run posted, once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

#: Movement kinds: ``earned`` and ``clawed_back`` come from a committed run (source: the run),
#: ``adjusted`` from an adjustment, ``paid`` and ``returned`` from a payment.
ENTRY_KINDS = ("earned", "clawed_back", "adjusted", "paid", "returned")
#: The company accounts a member's account moves money with.
COUNTER_ACCOUNTS = ("company:commissions_expense", "company:adjustments", "company:cash")
ADJUSTMENT_STATUSES = ("pending", "posted", "rejected")
BATCH_STATUSES = ("built", "exported")
PAYMENT_STATUSES = ("paid", "returned")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LedgerEntry(Base):
    """One movement between a member's account and a company account."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint(_in("counter_account", COUNTER_ACCOUNTS), name="counter_account"),
        # One index: the movement key (a movement posted twice is posted once), in member
        # order, so a member's balance and everyone's grouped by member read the index alone
        # (PostgreSQL: the amount is carried in it). One index rather than a key and a balance
        # index halves what writing a month's movements costs (docs/decisions/ledger-one-index.md).
        Index("uq_ledger_entries_movement", "member_id", "currency", "kind", "source_id",
              unique=True, postgresql_include=["amount"]),
        # SQLite's indexes carry no extra columns: there balances read this one. PostgreSQL's
        # key above carries the amount, so there this index is declared empty (no row meets
        # its condition: nothing is ever written to it).
        Index("ix_ledger_entries_member", "member_id", "currency", "amount",
              postgresql_where=text("false")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)
    counter_account: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[int] = mapped_column(SmallInteger)
    #: The run (earned, clawed_back), adjustment (adjusted) or payment (paid, returned).
    source_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_by: Mapped[str] = mapped_column(String(100))


class LedgerPosting(Base):
    """A committed run posted to the ledger: one row per run (its key), written in the posting's
    transaction, so a run is posted once and whether it is posted is one lookup."""

    __tablename__ = "ledger_postings"

    #: Goes with its run (runs are not deleted; a test database's may be).
    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id", ondelete="CASCADE"),
                                        primary_key=True, autoincrement=False)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_by: Mapped[str] = mapped_column(String(100))
    #: The movements the posting wrote.
    movements: Mapped[int] = mapped_column(Integer)


class PayoutAdjustment(Base):
    """A bonus (positive) or deduction (negative) staff add to a member's balance: posted at
    once, or pending until a second staff member approves it when above the company's limit."""

    __tablename__ = "payout_adjustments"
    __table_args__ = (
        CheckConstraint(_in("status", ADJUSTMENT_STATUSES), name="status"),
        CheckConstraint("amount <> 0", name="amount"),
        Index("ix_payout_adjustments_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    #: The caller's key for the request: a retry with the same key returns the first one.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class PayoutHold(Base):
    """A hold staff placed on a member's balance (``manual``) or a returned payment placed
    (``returned``); in force until released."""

    __tablename__ = "payout_holds"
    __table_args__ = (
        CheckConstraint(_in("reason", ("manual", "returned")), name="reason"),
        Index("ix_payout_holds_member", "member_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    placed_by: Mapped[str] = mapped_column(String(100))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(100))


class PayoutBatch(Base):
    """The payments of one pay date: built once (its payments and their ledger movements in
    one transaction), locked once exported."""

    __tablename__ = "payout_batches"
    __table_args__ = (CheckConstraint(_in("status", BATCH_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pay_date: Mapped[date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_by: Mapped[str | None] = mapped_column(String(100))


class PayoutPayment(Base):
    """One payment of a batch: a member's payable balance in one currency."""

    __tablename__ = "payout_payments"
    __table_args__ = (
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount"),
        UniqueConstraint("batch_id", "member_id", "currency",
                         name="uq_payout_payments_member"),
        Index("ix_payout_payments_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[int] = mapped_column(SmallInteger)
    payment_ref: Mapped[str] = mapped_column(String(35), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(String(200))
