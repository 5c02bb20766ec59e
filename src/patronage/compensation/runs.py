"""Period runs: preview as often as wanted, commit to lock, clawbacks, re-run a snapshot.

A *preview* loads the period's facts, runs the production engine and returns the result without
writing. *Commit* stores the facts snapshot, the plan text, every payout line (clawbacks
included), the ranks and the skips in one transaction, and locks the period. A period is committed
only once it has ended in the company's time zone, and periods are closed in order: a period
cannot run while an earlier one with orders or refunds is not committed. Of two commits of one
period at once, the second is refused naming the run of the first.

Two calendars: a plan may pay some bonuses by the ISO week (``period = "week"``); each week's
run pays only those, on the week's orders, and each month's run pays the others (see
``docs/periods.md``). A calendar's periods are closed in order on their own, and compared only
with periods of their calendar.

Clawbacks: a refund recorded in the period against an order of a committed period takes back,
from every earner paid on that order (or, for unilevel, on the buyer's volume of that period),
``amount × refunded volume ÷ paid volume`` of each original line — the original rates, and any cap
scaling, preserved. A customer acquisition bonus is clawed back by a refund of an order its
customer placed in the period it was paid, in proportion to what the customer spent there;
referral rewards are not clawed back.
"""

from __future__ import annotations

import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patronage.clock import (
    DEFAULT_COMPANY_ZONE,
    AnyPeriod,
    Period,
    Week,
    period_bounds,
    require_aware,
    zone,
)
from patronage.compensation.carry import store_carry, with_placement_and_carry
from patronage.compensation.core.bonuses import Refunded, Registry
from patronage.compensation.core.engine import run_engine, sum_by
from patronage.compensation.core.plan import Plan, parse_plan
from patronage.compensation.core.results import (
    BONUSES,
    SOURCE_KINDS,
    SOURCE_ORDER,
    Payouts,
    RunResult,
    Skips,
    sort_payouts,
)
from patronage.compensation.rank_history import history_before
from patronage.compensation.snapshot import freeze, thaw, thaw_extra
from patronage.compensation.totals import sum_run
from patronage.compensation.withheld import WithheldState, store_withheld, withheld_before
from patronage.credit.ledger import post_run as post_credit
from patronage.db.bulk import refresh_statistics, write_rows
from patronage.db.compensation import (
    RESULT_INDEXES,
    CommissionRun,
    CommissionSnapshot,
    PayoutLine,
)
from patronage.db.engine import transaction
from patronage.db.loaders import integer_matrix, load_period_facts
from patronage.db.tables import Order, OrderLine, Refund, RefundLine
from patronage.errors import Conflict, PatronageError
from patronage.facts import KIND_DISTRIBUTOR, PeriodFacts
from patronage.markets.core.conversion import Rates, convert_one
from patronage.markets.core.currencies import numeric
from patronage.markets.markets import plan_currency
from patronage.markets.run_money import (
    RunMoney,
    earner_amounts,
    frozen_rates,
    prepare,
    store_rates,
)
from patronage.money import round_half_away
from patronage.payouts.ledger import post_run as post_earnings


@dataclass(frozen=True)
class PlanSource:
    """A validated plan and the exact text it was read from (kept with a committed run)."""

    plan: Plan
    text: str

    @classmethod
    def from_file(cls, path: Path) -> PlanSource:
        if not path.is_file():
            raise PatronageError(f"{path}: no such plan file")
        body = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as exc:
            raise PatronageError(f"{path}: not valid TOML: {exc}") from exc
        return cls(parse_plan(data, str(path)), body)

    @classmethod
    def from_text(cls, body: str, name: str = "plan") -> PlanSource:
        return cls(parse_plan(tomllib.loads(body), name), body)


@dataclass(frozen=True)
class Clawback:
    earner_id: int
    bonus: str
    source_kind: int
    source_id: int
    level: int
    volume: int
    rate_bp: int
    amount: int
    clawback_of: int


@dataclass
class PeriodRun:
    period: AnyPeriod
    plan: PlanSource
    facts: PeriodFacts
    result: RunResult
    #: The rates the run uses (the plan currency first) and each member's currency.
    money: RunMoney
    clawbacks: list[Clawback] = field(default_factory=list)
    #: Amounts earlier runs withheld that this run found pending: those it may release and
    #: those it forfeits (:mod:`patronage.compensation.withheld`).
    withheld: WithheldState = field(default_factory=WithheldState)

    def earner_amounts(self) -> tuple[np.ndarray, np.ndarray]:
        """Each payout line's amount in its earner's currency, and the currency's ISO 4217
        number (:mod:`patronage.markets.run_money`)."""
        p = self.result.payouts
        return earner_amounts(self.money, p.earner, p.amount)

    def member_id(self, index: int) -> int:
        return int(self.facts.genealogy.member_id[index])

    def totals_by_bonus(self) -> dict[str, int]:
        p = self.result.payouts
        totals = {b: int(p.amount[p.bonus == i].sum()) for i, b in enumerate(BONUSES)}
        for c in self.clawbacks:
            totals[c.bonus] += c.amount
        return {b: v for b, v in totals.items() if v}

    @property
    def total_paid(self) -> int:
        return int(self.result.payouts.amount.sum()) + sum(c.amount for c in self.clawbacks)


def _committed(engine: Engine, period: AnyPeriod) -> CommissionRun | None:
    with transaction(engine) as s:
        return s.scalar(select(CommissionRun).where(CommissionRun.period == str(period)))


def _already(period: AnyPeriod, run: CommissionRun) -> Conflict:
    return Conflict(f"period {period} already committed by run {run.id}")


def _check_ended(period: AnyPeriod, now: datetime, company_zone: str) -> None:
    """A period is committed only once it has ended in the company's time zone."""
    tz = zone(company_zone)
    end = period.end(tz)
    if require_aware(now, place="now") < end:
        raise Conflict(f"period {period} has not ended yet (it ends "
                       f"{end.astimezone(tz):%Y-%m-%d %H:%M} {tz.key}); it is still open and "
                       "can be committed once it ends")


def _check_predecessor(engine: Engine, period: AnyPeriod, company_zone: str) -> None:
    """Periods are closed in order: every earlier period of its calendar with orders or
    refunds since the last committed one must be committed first (periods without any are
    passed over)."""
    found = _open_before(engine, period, company_zone)
    if found is None:
        return
    before, orders, refunds = found
    what = " and ".join(f"{n} {noun}" for n, noun in ((orders, "orders"), (refunds, "refunds"))
                        if n)
    which = ("the period before it" if before == period.previous() else "an earlier period")
    raise Conflict(f"period {period}: {which} ({before}) has {what} and is still open; "
                   f"commit {before} first")


def _open_before(engine: Engine, period: AnyPeriod,
                 company_zone: str) -> tuple[AnyPeriod, int, int] | None:
    """The earliest period of ``period``'s calendar before it with orders or refunds since the
    last committed one, with its counts of orders and refunds; ``None`` if there is none.
    Weeks count from the first week of a plan that pays by the week, and weeks whose plan pays
    nothing by the week are passed over."""
    tz = zone(company_zone)
    start = period.start(tz)
    kind: type[Period] | type[Week] = type(period)
    with transaction(engine) as s:
        last = s.scalar(select(func.max(CommissionRun.period)).where(
            CommissionRun.calendar == period.calendar, CommissionRun.period < str(period)))
        since = kind.parse(last).end(tz) if last else None
        if since is None and isinstance(period, Week):
            since = _weeks_begin(engine, tz)
            if since is None:
                return None
        while True:
            before = _earliest_activity(s, kind, since, start, tz)
            if before is None:
                return None
            if not isinstance(before, Week) or _pays_weekly(engine, before):
                break
            since = before.end(tz)
        lo, hi = before.start(tz), before.end(tz)
        orders = s.scalar(select(func.count()).select_from(Order).where(
            Order.placed_at >= lo, Order.placed_at < hi)) or 0
        refunds = s.scalar(select(func.count()).select_from(Refund).where(
            Refund.refunded_at >= lo, Refund.refunded_at < hi)) or 0
    return before, orders, refunds


def _earliest_activity(s: Session, kind: type[Period] | type[Week], since: datetime | None,
                       start: datetime, tz: Any) -> AnyPeriod | None:
    """The period (of ``kind``) of the earliest order or refund in ``[since, start)``."""
    earliest: list[datetime] = []
    for column in (Order.placed_at, Refund.refunded_at):
        query = select(func.min(column)).where(column < start)
        if since is not None:
            query = query.where(column >= since)
        found = s.scalar(query)
        if found is not None:
            earliest.append(found if found.tzinfo else found.replace(tzinfo=UTC))
    return kind.containing(min(earliest), tz) if earliest else None


def _weeks_begin(engine: Engine, tz: Any) -> datetime | None:
    """Where the weekly calendar begins: the start of the week holding the first day of the
    first stored plan version that pays a bonus by the week (None: no version does)."""
    from patronage.compensation.plan_versions import plan_history

    for entry in plan_history(engine):
        if not entry.never_in_force and entry.plan.source().plan.weekly_bonuses():
            first = Period.parse(entry.plan.effective_from).first_day()
            return Week.of_day(first).start(tz)
    return None


def _pays_weekly(engine: Engine, week: Week | Period) -> bool:
    """Whether the plan in force for ``week`` (or for a month) pays any bonus by the week."""
    from patronage.compensation.plan_versions import plan_in_force

    stored = plan_in_force(engine, week.month() if isinstance(week, Week) else week)
    return stored is not None and bool(stored.source().plan.weekly_bonuses())


def commit_refusal(engine: Engine, period: AnyPeriod, now: datetime, *,
                   company_zone: str = DEFAULT_COMPANY_ZONE) -> str | None:
    """Why :func:`commit_period` would refuse ``period`` at ``now`` (already committed, not
    ended, an earlier period still open, no plan in force), or ``None`` if it can be committed.
    """
    from patronage.compensation.plan_versions import require_plan

    done = _committed(engine, period)
    if done is not None:
        return _already(period, done).message
    try:
        _check_ended(period, now, company_zone)
        _check_predecessor(engine, period, company_zone)
        require_plan(engine, period)
    except PatronageError as exc:
        return exc.message
    return None


@dataclass(frozen=True)
class NextCommit:
    """The next period to commit, and why it cannot be committed yet (``None``: it can)."""

    period: AnyPeriod
    refusal: str | None


def next_to_commit(engine: Engine, now: datetime, *,
                   company_zone: str = DEFAULT_COMPANY_ZONE,
                   calendar: str = "month") -> NextCommit:
    """The next period of ``calendar`` (``"month"`` or ``"week"``) to commit at ``now``, in
    order: the earliest ended period with orders or refunds since the last committed one; with
    none, the current month or week (periods without orders or refunds are passed over: they
    pay nothing)."""
    tz = zone(company_zone)
    kind: type[Period] | type[Week] = Week if calendar == "week" else Period
    current = kind.containing(require_aware(now, place="now"), tz)
    found = _open_before(engine, current, company_zone)
    period = found[0] if found is not None else current
    return NextCommit(period, commit_refusal(engine, period, now, company_zone=company_zone))


def _titles_before(engine: Engine, facts: PeriodFacts, period: AnyPeriod) -> np.ndarray:
    """The highest title each member held in the committed months before ``period`` (a
    week: before its month), by member index. A run's titles already hold the highest of every
    earlier run's, so the latest committed month before ``period`` says it."""
    titles = np.full(facts.genealogy.size, -1, dtype=np.int64)
    month = period.month() if isinstance(period, Week) else period
    with engine.connect() as conn:
        run_id = conn.execute(text(
            "SELECT id FROM commission_runs WHERE calendar = 'month' AND period < :p "
            "ORDER BY period DESC LIMIT 1"), {"p": str(month)}).scalar()
        if run_id is None:
            return titles
        rows = integer_matrix(conn, "SELECT member_id, title FROM rank_records "
                                    "WHERE run_id = :r", {"r": int(run_id)}, 2)
    idx = facts.genealogy.index_of(rows[:, 0])
    found = idx >= 0
    titles[idx[found]] = rows[found, 1]
    return titles


PAYOUT_COLUMNS = tuple(f.name for f in fields(Payouts))
SKIP_COLUMNS = tuple(f.name for f in fields(Skips))

def _clawbacks(engine: Engine, start: datetime, end: datetime, company_zone: str,
               calendar: str = "month") -> list[Clawback]:
    """Negative lines for refunds in ``[start, end)`` of orders paid in committed periods.

    The refunds are grouped by the committed run of their order's period of ``calendar``
    (a week's run takes back weekly bonuses, a month's the others); each run's lines
    paid on those orders (or, for unilevel, on the buyers' volume) are read in one query."""
    tz = zone(company_zone)
    out: list[Clawback] = []
    with transaction(engine) as s:
        rows = s.execute(
            select(Order.id, Order.credited_to_id, Order.placed_at, RefundLine.qv,
                   RefundLine.cv, RefundLine.amount, OrderLine.volume_kind, Order.currency,
                   Order.buyer_id)
            .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
            .join(Refund, Refund.id == RefundLine.refund_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Refund.refunded_at >= start, Refund.refunded_at < end,
                   Order.placed_at < start)
            .order_by(RefundLine.id)
        ).all()
        by_period: dict[str, list[Any]] = {}
        for row in rows:
            kind: type[Period] | type[Week] = Week if calendar == "week" else Period
            by_period.setdefault(str(kind.containing(row.placed_at, tz)), []).append(row)
        for period, refunds in sorted(by_period.items()):
            run = s.scalar(select(CommissionRun).where(CommissionRun.period == period))
            if run is None:
                continue
            plan = PlanSource.from_text(run.plan_text, f"run {run.period}").plan
            rates = _run_rates(s, run.id)
            lines = _lines_paid_on(s, plan.bonuses.registry, run.id, {r.id for r in refunds},
                                   {r.credited_to_id for r in refunds if r.credited_to_id},
                                   {r.buyer_id for r in refunds if r.buyer_id != r.credited_to_id})
            for order_id, credited, _, qv, cv, amount, volume_kind, currency, buyer in refunds:
                # The refund's money in the plan currency at the rate its order's run froze.
                amount = convert_one(amount, rates.fraction_to_plan(currency))
                for line in lines.get(("order", order_id), []) + (
                        lines.get(("member", credited), []) if credited else []) + (
                        lines.get(("buyer", buyer), []) if buyer != credited else []):
                    clawback = _clawback(plan, line, qv, cv, amount, volume_kind)
                    if clawback is not None:
                        out.append(clawback)
    return out


def _run_rates(s: Session, run_id: int) -> Rates:
    from patronage.db.markets import RunRate

    rows = s.execute(select(RunRate.currency, RunRate.rate).where(RunRate.run_id == run_id))
    return Rates(plan_currency(s), {c: int(r) for c, r in rows})


def _lines_paid_on(s: Session, bonus_types: Registry, run_id: int, orders: set[int],
                   members: set[int], buyers: set[int]) -> dict[tuple[str, int], list[PayoutLine]]:
    """A run's lines that refunds claw back (:attr:`BonusType.clawed_sources`) paid on
    ``orders``, on ``members``' volume or (``"buyer"``) on the customers ``buyers`` who placed
    them, by (source kind, source id), in id order."""
    found: dict[tuple[str, int], list[PayoutLine]] = {}
    for kind, ids in (("order", sorted(orders)), ("member", sorted(members)),
                      ("buyer", sorted(buyers))):
        stored_kind = "member" if kind == "buyer" else kind
        for at in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[at:at + _IDS_PER_QUERY]
            query = select(PayoutLine).where(
                PayoutLine.run_id == run_id, PayoutLine.clawback_of.is_(None),
                PayoutLine.source_kind == stored_kind, PayoutLine.source_id.in_(part),
                PayoutLine.bonus.in_(bonus_types.clawed_lines(kind)))
            for line in s.scalars(query.order_by(PayoutLine.id)):
                found.setdefault((kind, line.source_id), []).append(line)
    return found


_IDS_PER_QUERY = 5_000


def _clawback(plan: Plan, line: PayoutLine, qv: int, cv: int, amount: int,
              volume_kind: str) -> Clawback | None:
    """What a refund of (qv, cv, amount) takes back from ``line``, at its effective rate: the
    line's bonus type says which part of the refund its volume was (nothing: None)."""
    bonus = plan.bonuses.registry.of_line(line.bonus)
    base = bonus.clawback_base(bonus.section_of(plan), Refunded(qv, cv, amount, volume_kind))
    if line.volume <= 0 or base <= 0:
        return None
    take = round_half_away(line.amount * base, line.volume)
    if not take:
        return None
    return Clawback(line.earner_id, line.bonus, SOURCE_KINDS.index(line.source_kind),
                    line.source_id, line.level, -base, line.rate_bp, -take, line.id)


def _run(engine: Engine, period: AnyPeriod, plan: PlanSource, facts: PeriodFacts,
         money: RunMoney, company_zone: str, start: datetime, end: datetime) -> PeriodRun:
    result, state = _compute(engine, facts, plan.plan, period)
    return PeriodRun(period, plan, facts, result, money,
                     _clawbacks(engine, start, end, company_zone, period.calendar), state)


def run_bounds(engine: Engine, period: AnyPeriod, company_zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of the orders and refunds a run of ``period`` reads, as UTC instants:
    the month or the week; but the first week of a plan that starts paying by the week in the
    middle of a week begins with that plan's month (the days before it are the month before's,
    whose plan pays everything by the month)."""
    tz = zone(company_zone)
    start, end = period_bounds(period, tz)
    if isinstance(period, Week):
        month_start = period.month().start(tz)
        monday = period.first_day()
        if start < month_start and not _pays_weekly(engine, Period(monday.year, monday.month)):
            start = month_start
    return start, end


def _compute(engine: Engine, facts: PeriodFacts, plan: Plan,
             period: AnyPeriod) -> tuple[RunResult, WithheldState]:
    """The engine's result for ``period`` (the bonuses ``plan`` pays on its calendar), and the
    earlier withheld amounts it released or forfeited."""
    paid = plan.for_calendar(period.calendar)
    month = period.month() if isinstance(period, Week) else period
    withheld, state = withheld_before(engine, facts, paid, period)
    return run_engine(facts, paid, _titles_before(engine, facts, period),
                      history_before(engine, facts, paid, month), withheld), state


class _Stopwatch:
    """Seconds per step, added to ``seconds`` when the caller asks for them."""

    def __init__(self, seconds: dict[str, float] | None) -> None:
        self.seconds, self.last = seconds, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        if self.seconds is not None:
            self.seconds[step] = self.seconds.get(step, 0.0) + now - self.last
        self.last = now


def preview_period(engine: Engine, period: AnyPeriod, plan: PlanSource | None = None, *,
                   seconds: dict[str, float] | None = None,
                   company_zone: str = DEFAULT_COMPANY_ZONE) -> PeriodRun:
    """Compute the period (a month or an ISO week in ``company_zone``) without writing anything,
    with ``plan`` or else the stored plan in force for the period (a week: for its month).
    ``seconds``, when given, receives the time each step took."""
    from patronage.compensation.plan_versions import require_plan

    watch = _Stopwatch(seconds)
    plan = plan or require_plan(engine, period)
    _check_predecessor(engine, period, company_zone)
    start, end = run_bounds(engine, period, company_zone)
    watch.lap("checks")
    facts = load_period_facts(engine, start, end, str(period))
    with engine.connect() as conn:
        currency = plan_currency(conn)
    facts, money = prepare(engine, facts, period, plan_currency=currency,
                           timezone=company_zone)
    facts = with_placement_and_carry(engine, facts, period, end)
    watch.lap("load")
    run = _run(engine, period, plan, facts, money, company_zone, start, end)
    watch.lap("run")
    return run


def commit_period(engine: Engine, period: AnyPeriod, plan: PlanSource | None, *, now: datetime,
                  actor: str, seconds: dict[str, float] | None = None,
                  company_zone: str = DEFAULT_COMPANY_ZONE) -> int:
    """Lock the period: snapshot, payout lines, clawbacks, ranks and skips in one transaction.
    Refused (:class:`Conflict`) when the period is already committed, has not ended at ``now``
    in the company's time zone, or an earlier period with activity is still open. ``seconds``,
    when given, receives the time each step took."""
    done = _committed(engine, period)
    if done is not None:
        raise _already(period, done)
    _check_ended(period, now, company_zone)
    run = preview_period(engine, period, plan, seconds=seconds, company_zone=company_zone)
    try:
        return _store(engine, period, run, now=now, actor=actor, seconds=seconds)
    except IntegrityError as exc:
        # Another commit of the period stored its run first: name it.
        winner = _committed(engine, period)
        if winner is None:
            raise
        raise _already(period, winner) from exc


def _store(engine: Engine, period: AnyPeriod, run: PeriodRun, *, now: datetime, actor: str,
           seconds: dict[str, float] | None) -> int:
    watch = _Stopwatch(seconds)
    g, r = run.facts.genealogy, run.result
    # The snapshot is compressed (zlib lets go of the interpreter) while the rows are written.
    with ThreadPoolExecutor(1) as pool, transaction(engine) as s:
        frozen = pool.submit(freeze, run.facts, _money_arrays(run))
        record = CommissionRun(
            period=str(period), calendar=period.calendar, plan_name=run.plan.plan.name,
            plan_version=run.plan.plan.version,
            plan_text=run.plan.text, facts_digest="",
            committed_at=now, committed_by=actor, total_cv=r.total_cv,
            total_paid=run.total_paid, cap_applied=r.cap_applied, volume_mix=True,
        )
        s.add(record)
        s.flush()
        conn = s.connection()
        # Each table's rows in the order of its (run, member) index, so the index grows at
        # its end instead of taking inserts all over.
        p = sort_payouts({name: getattr(r.payouts, name) for name in PAYOUT_COLUMNS})
        source = _source_ids(g.member_id, p.source_kind, p.source)
        paid, currency = _earner_columns(run, p.earner, p.amount)
        write_rows(conn, "payout_lines", {
            "run_id": np.full(p.size, record.id), "earner_id": g.member_id[p.earner],
            "bonus": p.bonus, "source_kind": p.source_kind,
            "source_id": source, "level": p.level, "volume": p.volume, "rate_bp": p.rate_bp,
            "amount": p.amount, "currency": currency, "paid_amount": paid,
        })
        if run.money is not None:
            store_rates(s, record.id, run.money)
        store_carry(conn, record.id, g, r)
        if run.clawbacks:
            earners = g.index_of(np.array([c.earner_id for c in run.clawbacks], dtype=np.int64))
            c_paid, c_currency = _earner_columns(
                run, np.maximum(earners, 0),
                np.array([c.amount for c in run.clawbacks], dtype=np.int64))
            s.add_all([PayoutLine(
                run_id=record.id, earner_id=c.earner_id, bonus=c.bonus,
                source_kind=SOURCE_KINDS[c.source_kind], source_id=c.source_id,
                level=c.level, volume=c.volume, rate_bp=c.rate_bp, amount=c.amount,
                clawback_of=c.clawback_of, currency=int(cur), paid_amount=int(pa))
                for c, pa, cur in zip(run.clawbacks, c_paid.tolist(), c_currency.tolist(),
                                      strict=True)])
        s.flush()
        # Rewards the plan pays as product credit go to the earners' credit ledgers, in this
        # transaction (and clawbacks of credit, whatever the plan pays now).
        sum_run(s, record.id)  # the run's page and My business read these sums
        post_credit(s, record.id, _paid_as_credit(run.plan.plan), now)
        dist = np.flatnonzero(g.kind == KIND_DISTRIBUTOR)
        consumption, promotional, customer = _volume_mix(run.facts)
        earned = _earned(run, p.earner, p.amount)
        write_rows(conn, "rank_records", {
            "run_id": np.full(dist.size, record.id), "member_id": g.member_id[dist],
            "pv": r.pv[dist], "gv": r.gv[dist], "active": r.active[dist],
            "paid_as": r.paid_as[dist], "title": r.title[dist],
            "qualified": (r.qualified if r.qualified is not None else r.paid_as)[dist],
            "consumption_cv": consumption[dist], "promotional_cv": promotional[dist],
            "customer_cv": customer[dist], "earned": earned[dist],
            "ordering_customers": r.active_customers[dist],
        })
        k = r.skips
        by_member = np.argsort(k.member, kind="stable")
        k = Skips(*(getattr(k, name)[by_member] for name in SKIP_COLUMNS))
        skip_source = _source_ids(g.member_id, k.source_kind, k.source)
        write_rows(conn, "payout_skips", {
            "run_id": np.full(k.size, record.id), "bonus": k.bonus,
            "source_kind": k.source_kind, "source_id": skip_source, "level": k.level,
            "member_id": g.member_id[k.member], "reason": k.reason,
            "passed_to_id": [None if t < 0 else int(g.member_id[t]) for t in k.passed_to.tolist()],
        })
        store_withheld(s, record.id, g.member_id, r.withheld, r.payouts, run.withheld)
        watch.lap("store")
        if conn.dialect.name == "postgresql":
            _index_new_rows(conn, {"payout_lines": p.size, "rank_records": dist.size})
            watch.lap("index")
        # The run's lines go onto the earnings ledger in the same transaction.
        s.flush()
        post_earnings(conn, record.id, now=now, actor=actor)
        watch.lap("ledger")
        snapshot, record.facts_digest = frozen.result()
        watch.lap("snapshot")
        s.add(CommissionSnapshot(run_id=record.id, facts=snapshot))
        s.flush()
    watch.lap("store")
    return record.id


def _paid_as_credit(plan: Plan) -> list[str]:
    """The rewards ``plan`` pays as product credit (``as = "credit"``)."""
    section = plan.bonuses.section("customer_referral")
    return ["customer_referral"] if getattr(section, "paid_as", "cash") == "credit" else []


def _earner_columns(run: PeriodRun, earner: np.ndarray,
                    amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plan-currency amounts of lines to ``earner`` (member indexes) in the earners'
    currencies, and those currencies' ISO 4217 numbers."""
    return earner_amounts(run.money, earner, amount)


def _money_arrays(run: PeriodRun) -> dict[str, np.ndarray]:
    """What the snapshot keeps beside the facts: each member's currency (an index into the
    run's currencies, plan currency first)."""
    if run.money is None:
        return {}
    return {"member_currency": run.money.member_currency}


def _earned(run: PeriodRun, earner: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """By member index: the run's payout lines summed, its clawbacks included (plan
    currency)."""
    n = run.facts.genealogy.size
    earned = sum_by(earner, amount, n)
    if run.clawbacks:
        who = run.facts.genealogy.index_of(
            np.array([c.earner_id for c in run.clawbacks], dtype=np.int64))
        back = np.array([c.amount for c in run.clawbacks], dtype=np.int64)
        np.add.at(earned, who[who >= 0], back[who >= 0])
    return earned


def _volume_mix(facts: PeriodFacts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """By member index: the CV of the period's paid order lines credited to them, consumption
    and promotional, and of it what customers bought (as the lines were placed: refunds are
    not taken off)."""
    lines, n = facts.lines, facts.genealogy.size
    credited = lines.credited_to >= 0
    who, cv = lines.credited_to[credited], lines.cv[credited]
    promo, bought = lines.promotional[credited], lines.customer_purchase[credited]
    return (sum_by(who[~promo], cv[~promo], n), sum_by(who[promo], cv[promo], n),
            sum_by(who[bought], cv[bought], n))


def _index_new_rows(conn: Any, written: dict[str, int]) -> None:
    """PostgreSQL: the block ranges a run's rows filled are summarised in the tables' BRIN
    indexes, so that pages find a member's rows of the new run at once; a table whose planner
    statistics know of less than half its rows is analysed, so that its lookups go through the
    index from the first run on. (Skips are not read by member: their ranges are summarised by
    autovacuum.)"""
    for table, rows in written.items():
        conn.execute(text("SELECT brin_summarize_new_values(:i)"),
                     {"i": RESULT_INDEXES[table]})
        refresh_statistics(conn, table, rows)


def _source_ids(member_id: np.ndarray, kind: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Order ids stay; member indexes become member ids."""
    out = source.copy()
    members = kind != SOURCE_ORDER
    out[members] = member_id[source[members]]
    return out


def replay_committed(engine: Engine, period: AnyPeriod) -> PeriodRun:
    """The committed period computed again from its snapshot with its own plan (and the titles
    of the committed periods before it)."""
    return _replay(engine, period, _committed(engine, period))


def _replay(engine: Engine, period: AnyPeriod, record: CommissionRun | None) -> PeriodRun:
    if record is None:
        raise PatronageError(f"period {period} is not committed")
    with transaction(engine) as s:
        snapshot = s.scalar(select(CommissionSnapshot.facts)
                            .where(CommissionSnapshot.run_id == record.id))
        currency = plan_currency(s)
    if snapshot is None:
        raise PatronageError(f"period {period}: the facts snapshot of its run is missing")
    facts = thaw(snapshot, str(period))
    plan = PlanSource.from_text(record.plan_text, f"run {period}")
    result, state = _compute(engine, facts, plan.plan, period)
    rates, days = frozen_rates(engine, record.id, currency)
    member_currency = thaw_extra(snapshot).get("member_currency")
    if member_currency is None:
        member_currency = np.zeros(facts.genealogy.size, dtype=np.int64)
    money = RunMoney(rates, days, member_currency.astype(np.int64))
    return PeriodRun(period, plan, facts, result, money=money, withheld=state)


def rerun_committed(engine: Engine, period: AnyPeriod) -> tuple[bool, PeriodRun]:
    """Run the committed snapshot again with its own plan; True when every stored line (the
    clawbacks aside) is the same as the line computed again."""
    record = _committed(engine, period)
    run = _replay(engine, period, record)
    assert record is not None
    with engine.connect() as conn:
        stored = integer_matrix(conn, (
            "SELECT earner_id, bonus, source_kind, source_id, level, volume, rate_bp, amount, "
            f"COALESCE(currency, {numeric(run.money.rates.plan)}), "
            "COALESCE(paid_amount, amount) "
            "FROM payout_lines WHERE run_id = :r AND clawback_of IS NULL"), {"r": record.id}, 10)
    g, p = run.facts.genealogy, run.result.payouts
    paid, currency = run.earner_amounts()
    again = np.column_stack([g.member_id[p.earner], p.bonus, p.source_kind,
                             _source_ids(g.member_id, p.source_kind, p.source), p.level,
                             p.volume, p.rate_bp, p.amount, currency, paid]).astype(np.int64)
    return _same_rows(stored, again), run


def _same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two integer matrices hold the same rows, in any order."""
    if a.shape != b.shape:
        return False
    if a.shape[0] == 0:
        return True
    return bool(np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])]))
