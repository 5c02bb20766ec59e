"""The earnings ledger: posting committed runs, balances and the movements behind them.

Committing a period posts, in the commit's transaction, one ``earned`` movement per earner and
currency (the sum of the run's lines to them, in the earner's currency: the converted amounts
the run stored) and one ``clawed_back`` movement (negative) for the clawback lines; the run's
lines stay in ``payout_lines``, where a movement's source leads. Posting is one set-based
``INSERT ... SELECT`` and a row of ``ledger_postings`` (the run's key); a run already posted is
not posted again (and the movement key is unique besides). Balances are sums of movements, per
member and currency; nothing is stored as a total.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    insert,
    select,
    text,
)

from patronage.clock import require_aware
from patronage.db.compensation import CommissionRun
from patronage.db.loaders import integer_matrix
from patronage.db.payouts import (
    LedgerEntry,
    LedgerPosting,
    PayoutAdjustment,
    PayoutBatch,
    PayoutPayment,
)
from patronage.markets.core.currencies import by_numeric, numeric
from patronage.markets.markets import plan_currency
from patronage.payouts.core.ledger import COUNTER_ACCOUNT, Totals

_RUN_KINDS = ("earned", "clawed_back")


def run_posted(conn: Connection, run_id: int) -> bool:
    """Whether a committed run's lines are on the ledger (its posting is recorded)."""
    return conn.execute(select(LedgerPosting.run_id).where(LedgerPosting.run_id == run_id)
                        ).first() is not None


#: PostgreSQL: the memory a posting's or a batch's grouping may use before it spills to disk
#: (for this transaction only). The default 4 MB sorts a large month's lines on disk, in one
#: process: a write cannot use parallel workers.
WORK_MEM = "256MB"


def roomy_sorts(conn: Connection) -> None:
    """Let this transaction's groupings run in memory (PostgreSQL; nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")


def post_run(conn: Connection, run_id: int, *, now: datetime, actor: str) -> int:
    """Post a committed run's lines to the ledger (in the caller's transaction): per earner and
    currency, what was earned and what was clawed back, and the record that the run is posted.
    Returns the movements written (0 when the run is already posted)."""
    require_aware(now, place="now")
    if run_posted(conn, run_id):
        return 0
    plan = numeric(plan_currency(conn))
    roomy_sorts(conn)
    # Grouped on integers (earner, whether a clawback, currency); the kind and the company
    # account are named after the grouping. Written in member order, so the movement key (led
    # by the member) grows at its end instead of taking inserts all over.
    sql = text(
        "INSERT INTO ledger_entries (member_id, counter_account, kind, amount, currency, "
        "source_id, posted_at, posted_by) "
        "SELECT earner_id, CASE WHEN earned = 1 THEN :earned_account ELSE :clawed_account END, "
        "CASE WHEN earned = 1 THEN 'earned' ELSE 'clawed_back' END, total, cur, :run, :at, :by "
        "FROM (SELECT earner_id, CASE WHEN clawback_of IS NULL THEN 1 ELSE 0 END AS earned, "
        "COALESCE(currency, :plan) AS cur, SUM(COALESCE(paid_amount, amount)) AS total "
        "FROM payout_lines WHERE run_id = :run "
        "GROUP BY earner_id, CASE WHEN clawback_of IS NULL THEN 1 ELSE 0 END, "
        "COALESCE(currency, :plan)) g WHERE total <> 0 ORDER BY earner_id"
    ).bindparams(bindparam("at", type_=LedgerEntry.posted_at.type))
    with sorted_grouping(conn):
        written = conn.execute(sql, {
            "earned_account": COUNTER_ACCOUNT["earned"],
            "clawed_account": COUNTER_ACCOUNT["clawed_back"], "run": run_id, "at": now,
            "by": actor[:100], "plan": plan}).rowcount
    # The run's key: a second posting of it (a concurrent one) fails here, or on the movements.
    conn.execute(insert(LedgerPosting).values(run_id=run_id, posted_at=now,
                                              posted_by=actor[:100], movements=written))
    return int(written)


@contextmanager
def sorted_grouping(conn: Connection) -> Iterator[None]:
    """PostgreSQL: group by sorting, not hashing, for the statement run inside (the setting
    the transaction had is put back after it; a statement that fails aborts the transaction,
    whose rollback puts it back). A posting's groups come out of the sort already
    in member order, as the ledger's key wants them; hashing 670,000 groups and then sorting
    them took a fifth longer. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = str(conn.exec_driver_sql("SHOW enable_hashagg").scalar_one())
    conn.exec_driver_sql("SET LOCAL enable_hashagg = off")
    yield  # a failed statement leaves the transaction to roll back, and the setting with it
    conn.exec_driver_sql(f"SET LOCAL enable_hashagg = {'on' if before == 'on' else 'off'}")


def post_committed(engine: Engine, *, now: datetime, actor: str) -> dict[str, int]:
    """Post every committed run not yet on the ledger (runs committed before the ledger, or a
    repair); each run in its own transaction. Returns movements written by period."""
    with engine.connect() as conn:
        runs = conn.execute(select(CommissionRun.id, CommissionRun.period)
                            .order_by(CommissionRun.id)).all()
    written: dict[str, int] = {}
    for run_id, period in runs:
        with engine.begin() as conn:
            n = post_run(conn, int(run_id), now=now, actor=actor)
        if n:
            written[str(period)] = n
    return written


@dataclass(frozen=True)
class Balances:
    """Every non-zero balance: member ids, currencies (ISO 4217 numbers) and amounts, by
    (member, currency)."""

    member_id: np.ndarray
    currency: np.ndarray
    amount: np.ndarray

    @property
    def size(self) -> int:
        return int(self.member_id.size)


def ledger_currencies(conn: Connection) -> list[int]:
    """The currencies (ISO 4217 numbers) the ledger has movements in."""
    return sorted(int(c) for c in conn.execute(select(LedgerEntry.currency).distinct()).scalars())


def all_balances(conn: Connection, minimum: Mapping[int, int] | None = None) -> Balances:
    """Each member's balance per currency (zero balances left out), in member order. With
    ``minimum`` (currency number → minor units): only the balances at least their currency's
    minimum and above zero, chosen by the database."""
    roomy_sorts(conn)
    having = "SUM(amount) <> 0"
    if minimum is not None:
        cases = " ".join(f"WHEN {int(c)} THEN {max(int(m), 1)}" for c, m in minimum.items())
        having = (f"SUM(amount) >= CASE currency {cases} ELSE 1 END" if cases
                  else "SUM(amount) >= 1")
    rows = integer_matrix(conn, (
        "SELECT member_id, currency, SUM(amount) FROM ledger_entries "
        f"GROUP BY member_id, currency HAVING {having} ORDER BY member_id, currency"), {}, 3)
    return Balances(rows[:, 0], rows[:, 1], rows[:, 2])


def balances_of(conn: Connection, member_id: int) -> dict[str, int]:
    """A member's balances by currency code (currencies with movements, zero included)."""
    rows = conn.execute(select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
                        .where(LedgerEntry.member_id == member_id)
                        .group_by(LedgerEntry.currency)).all()
    return {by_numeric(int(c)): int(a) for c, a in rows}


def totals(conn: Connection, member_id: int | None = None) -> dict[str, Totals]:
    """The movements summed by kind, per currency code: a member's, or the company's."""
    query = select(LedgerEntry.currency, LedgerEntry.kind, func.sum(LedgerEntry.amount))
    if member_id is not None:
        query = query.where(LedgerEntry.member_id == member_id)
    by: dict[str, list[tuple[str, int]]] = {}
    for c, kind, amount in conn.execute(query.group_by(LedgerEntry.currency, LedgerEntry.kind)):
        by.setdefault(by_numeric(int(c)), []).append((str(kind), int(amount)))
    return {c: Totals.of(rows) for c, rows in by.items()}


@dataclass(frozen=True)
class Movement:
    """One ledger movement of a member, with what it came from: ``period`` (a run's month),
    ``reason`` and ``note`` (an adjustment), ``payment_ref`` and ``pay_date`` (a payment)."""

    id: int
    kind: str
    amount: int
    currency: str
    posted_at: datetime
    source_id: int
    period: str | None = None
    run_id: int | None = None
    reason: str | None = None
    note: str | None = None
    payment_ref: str | None = None
    pay_date: date | None = None


def movements(conn: Connection, member_id: int, *, limit: int = 200) -> list[Movement]:
    """A member's movements, newest first, each with its source."""
    e = LedgerEntry
    rows = conn.execute(
        select(e.id, e.kind, e.amount, e.currency, e.posted_at, e.source_id,
               CommissionRun.period, PayoutAdjustment.reason, PayoutAdjustment.note,
               PayoutPayment.payment_ref, PayoutBatch.pay_date)
        .outerjoin(CommissionRun, and_(e.kind.in_(_RUN_KINDS), CommissionRun.id == e.source_id))
        .outerjoin(PayoutAdjustment, and_(e.kind == "adjusted",
                                          PayoutAdjustment.id == e.source_id))
        .outerjoin(PayoutPayment, and_(e.kind.in_(("paid", "returned")),
                                       PayoutPayment.id == e.source_id))
        .outerjoin(PayoutBatch, PayoutBatch.id == PayoutPayment.batch_id)
        .where(e.member_id == member_id)
        .order_by(e.posted_at.desc(), e.id.desc()).limit(limit)).all()
    return [Movement(int(r.id), str(r.kind), int(r.amount), by_numeric(int(r.currency)),
                     r.posted_at, int(r.source_id), r.period,
                     int(r.source_id) if r.period else None, r.reason, r.note, r.payment_ref,
                     r.pay_date) for r in rows]


def member_currency_codes(numbers: Sequence[int]) -> list[str]:
    """ISO 4217 letter codes of stored currency numbers."""
    return [by_numeric(int(n)) for n in numbers]
