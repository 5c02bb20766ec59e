"""Monthly statements: per distributor and closed calendar month (in the company's time zone),
the opening balance, every ledger movement posted in the month with its source (commissions
broken down by bonus, adjustments, payments and returns), the holds placed and released in the
month, the ranks and volumes of the runs posted in it, and the closing balance, per currency.

A month is *closed* once it has ended. Balances are sums of movements: the opening balance is
every movement posted before the month, the closing balance the opening plus the month's
movements, so one month's closing is the next month's opening. A run's commissions are in the
statement of the month they were posted (committing October in November: November's
statement), as on a bank statement.

:func:`statements_for` builds them in bulk, a chunk of members at a time with a handful of
set-based queries per chunk (nothing per member), so a whole company's month is a stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, case, func, or_, select

from patronage.clock import Period, require_aware, zone
from patronage.db.compensation import CommissionRun, PayoutLine, RankRecord
from patronage.db.payouts import (
    LedgerEntry,
    PayoutAdjustment,
    PayoutBatch,
    PayoutHold,
    PayoutPayment,
)
from patronage.db.tables import Member
from patronage.errors import NotFound, PatronageError
from patronage.markets.core.currencies import by_numeric, numeric
from patronage.markets.markets import plan_currency
from patronage.payouts.ledger import Movement

#: Members per chunk of a bulk run (one ``IN`` list per query).
CHUNK = 2_000


@dataclass(frozen=True)
class StatementLine:
    """One movement of the month, with its commissions by bonus (earned and clawed back:
    ``(bonus, amount)`` in the movement's currency, largest first)."""

    movement: Movement
    bonuses: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class HoldEvent:
    """A staff or returned-payment hold placed or released in the month."""

    at: datetime
    released: bool
    reason: str
    note: str


@dataclass(frozen=True)
class RankLine:
    """The member's rank and volumes in a run whose commissions the month posted."""

    period: str
    pv: int
    gv: int
    active: bool
    paid_as: int
    title: int
    plan_text: str


@dataclass
class Statement:
    member_id: int
    name: str
    month: Period
    start: datetime
    end: datetime
    opening: dict[str, int] = field(default_factory=dict)
    closing: dict[str, int] = field(default_factory=dict)
    lines: list[StatementLine] = field(default_factory=list)
    holds: list[HoldEvent] = field(default_factory=list)
    ranks: list[RankLine] = field(default_factory=list)
    #: The member's language (their statement is written in it).
    locale: str = "en-US"

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.opening) | set(self.closing))

    def check(self) -> None:
        """Closing = opening + the month's movements, per currency (raises otherwise)."""
        moved: dict[str, int] = defaultdict(int)
        for line in self.lines:
            moved[line.movement.currency] += line.movement.amount
        for c in self.currencies:
            if self.opening.get(c, 0) + moved.get(c, 0) != self.closing.get(c, 0):
                raise PatronageError(f"statement {self.month} of member {self.member_id}: "
                                     f"{c} closing balance does not add up")


def closed(month: Period, *, now: datetime, company_zone: str) -> bool:
    """Whether ``month`` has ended (in the company's time zone)."""
    return require_aware(now, place="now") >= month.end(zone(company_zone))


def _closed_month(month: Period, now: datetime, company_zone: str) -> None:
    if not closed(month, now=now, company_zone=company_zone):
        raise PatronageError(f"statement {month}: the month is not over yet; statements are "
                             "for closed months")


def statement_months(engine: Engine, member_id: int, *, now: datetime,
                     company_zone: str) -> list[Period]:
    """The closed months a member has a statement for (from their first movement), newest
    first."""
    require_aware(now, place="now")
    tz = zone(company_zone)
    with engine.connect() as conn:
        first = conn.scalar(select(func.min(LedgerEntry.posted_at))
                            .where(LedgerEntry.member_id == member_id))
        first_hold = conn.scalar(select(func.min(PayoutHold.placed_at))
                                 .where(PayoutHold.member_id == member_id))
    starts = [t for t in (first, first_hold) if t is not None]
    if not starts:
        return []
    month = Period.containing(min(starts), tz)
    last = Period.containing(now, tz).previous()
    months: list[Period] = []
    while (month.year, month.month) <= (last.year, last.month):
        months.append(month)
        month = month.next()
    return months[::-1]


def statement_of(engine: Engine, member_id: int, month: Period, *, now: datetime,
                 company_zone: str) -> Statement:
    """One member's statement of a closed month (empty, with zero balances, when nothing
    moved)."""
    _closed_month(month, require_aware(now, place="now"), company_zone)
    with engine.connect() as conn:
        if conn.scalar(select(Member.id).where(Member.id == member_id)) is None:
            raise NotFound(f"member {member_id} does not exist")
        return _chunk(conn, [member_id], month, zone(company_zone))[0]


def statement_members(conn: Connection, month: Period, company_zone: str) -> list[int]:
    """The members a month has a statement for: a movement before its end or a hold event in
    it."""
    start, end = month.start(zone(company_zone)), month.end(zone(company_zone))
    moved = select(LedgerEntry.member_id).where(LedgerEntry.posted_at < end).distinct()
    held = select(PayoutHold.member_id).where(or_(
        and_(PayoutHold.placed_at >= start, PayoutHold.placed_at < end),
        and_(PayoutHold.released_at >= start, PayoutHold.released_at < end))).distinct()
    ids = set(conn.execute(moved).scalars()) | set(conn.execute(held).scalars())
    return sorted(int(i) for i in ids)


def statements_for(engine: Engine, month: Period, *, now: datetime, company_zone: str,
                   chunk: int = CHUNK) -> Iterator[Statement]:
    """Every member's statement of a closed month, in member order, ``chunk`` members at a
    time (only members with a balance or a movement: nobody gets an empty statement)."""
    _closed_month(month, require_aware(now, place="now"), company_zone)
    tz = zone(company_zone)
    with engine.connect() as conn:
        ids = statement_members(conn, month, company_zone)
        for i in range(0, len(ids), chunk):
            yield from _chunk(conn, ids[i:i + chunk], month, tz)


def _chunk(conn: Connection, ids: Sequence[int], month: Period, tz: ZoneInfo
           ) -> list[Statement]:
    start, end = month.start(tz), month.end(tz)
    e = LedgerEntry
    people = {int(i): (f"{f} {last}".strip(), str(loc)) for i, f, last, loc in conn.execute(
        select(Member.id, Member.first_name, Member.last_name, Member.locale)
        .where(Member.id.in_(ids)))}
    out: dict[int, Statement] = {}
    for i in ids:
        name, locale = people.get(i, ("", "en-US"))
        out[i] = Statement(i, name, month, start, end, locale=locale)
    for m, c, before, during in conn.execute(
            select(e.member_id, e.currency,
                   func.sum(case((e.posted_at < start, e.amount), else_=0)),
                   func.sum(e.amount))
            .where(e.member_id.in_(ids), e.posted_at < end)
            .group_by(e.member_id, e.currency)):
        code = by_numeric(int(c))
        out[int(m)].opening[code] = int(before)
        out[int(m)].closing[code] = int(during)
    rows = conn.execute(
        select(e.id, e.member_id, e.kind, e.amount, e.currency, e.posted_at, e.source_id,
               CommissionRun.period, PayoutAdjustment.reason, PayoutAdjustment.note,
               PayoutPayment.payment_ref, PayoutBatch.pay_date)
        .outerjoin(CommissionRun, and_(e.kind.in_(("earned", "clawed_back")),
                                       CommissionRun.id == e.source_id))
        .outerjoin(PayoutAdjustment, and_(e.kind == "adjusted",
                                          PayoutAdjustment.id == e.source_id))
        .outerjoin(PayoutPayment, and_(e.kind.in_(("paid", "returned")),
                                       PayoutPayment.id == e.source_id))
        .outerjoin(PayoutBatch, PayoutBatch.id == PayoutPayment.batch_id)
        .where(e.member_id.in_(ids), e.posted_at >= start, e.posted_at < end)
        .order_by(e.member_id, e.posted_at, e.id)).all()
    runs = sorted({int(r.source_id) for r in rows if r.period is not None})
    bonuses = _bonuses(conn, runs, ids)
    for r in rows:
        move = Movement(int(r.id), str(r.kind), int(r.amount), by_numeric(int(r.currency)),
                        r.posted_at, int(r.source_id), r.period,
                        int(r.source_id) if r.period else None, r.reason, r.note,
                        r.payment_ref, r.pay_date)
        key = (int(r.source_id), int(r.member_id), r.kind == "earned", int(r.currency))
        split = tuple(sorted(bonuses.get(key, {}).items(), key=lambda kv: (-abs(kv[1]), kv[0])))
        out[int(r.member_id)].lines.append(
            StatementLine(move, split if r.period is not None else ()))
    h = PayoutHold
    for m, placed, released, reason, note in conn.execute(
            select(h.member_id, h.placed_at, h.released_at, h.reason, h.note)
            .where(h.member_id.in_(ids), or_(and_(h.placed_at >= start, h.placed_at < end),
                                             and_(h.released_at >= start, h.released_at < end)))
            .order_by(h.member_id, h.placed_at, h.id)):
        st = out[int(m)]
        if start <= placed < end:
            st.holds.append(HoldEvent(placed, False, str(reason), str(note or "")))
        if released is not None and start <= released < end:
            st.holds.append(HoldEvent(released, True, str(reason), str(note or "")))
    if runs:
        for m, period, pv, gv, active, paid_as, title, plan_text in conn.execute(
                select(RankRecord.member_id, CommissionRun.period, RankRecord.pv, RankRecord.gv,
                       RankRecord.active, RankRecord.paid_as, RankRecord.title,
                       CommissionRun.plan_text)
                .join(CommissionRun, CommissionRun.id == RankRecord.run_id)
                .where(RankRecord.run_id.in_(runs), RankRecord.member_id.in_(ids),
                       CommissionRun.calendar == "month")
                .order_by(RankRecord.member_id, CommissionRun.period)):
            out[int(m)].ranks.append(RankLine(str(period), int(pv), int(gv), bool(active),
                                              int(paid_as), int(title), str(plan_text)))
    for st in out.values():
        st.holds.sort(key=lambda ev: ev.at)
    return [out[i] for i in ids]


def _bonuses(conn: Connection, runs: Sequence[int], ids: Sequence[int]
             ) -> dict[tuple[int, int, bool, int], dict[str, int]]:
    """Per (run, earner, earned rather than clawed back, currency): the amounts by bonus, as
    the ledger posted them (the paid amount in the earner's currency)."""
    if not runs:
        return {}
    p = PayoutLine
    plan = numeric(plan_currency(conn))
    earned = p.clawback_of.is_(None)
    cur = func.coalesce(p.currency, plan)
    flag = case((earned, 1), else_=0)
    out: dict[tuple[int, int, bool, int], dict[str, int]] = {}
    for run, earner, is_earned, c, bonus, amount in conn.execute(
            select(p.run_id, p.earner_id, flag, cur, p.bonus,
                   func.sum(func.coalesce(p.paid_amount, p.amount)))
            .where(p.run_id.in_(runs), p.earner_id.in_(ids))
            .group_by(p.run_id, p.earner_id, flag, cur, p.bonus)):
        if amount:
            key = (int(run), int(earner), bool(is_earned), int(c))
            out.setdefault(key, {})[str(bonus)] = int(amount)
    return out
