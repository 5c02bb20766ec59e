"""Period runs: preview as often as wanted, commit to lock, clawbacks, re-run a snapshot.

A *preview* loads the period's facts, runs the production engine and returns the result without
writing. *Commit* stores the facts snapshot, the plan text, every payout line (clawbacks
included), the ranks and the skips in one transaction, and locks the period. Periods are closed in
order: a period cannot run while the one before it has orders and is not committed.

Clawbacks: a refund recorded in the period against an order of a committed period takes back,
from every earner paid on that order (or, for unilevel, on the buyer's volume of that period),
``amount × refunded volume ÷ paid volume`` of each original line — the original rates, and any cap
scaling, preserved. Customer acquisition and referral rewards are not clawed back.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select, text

from patronage.clock import Period, zone
from patronage.compensation.engine import run_engine
from patronage.compensation.plan import Plan, default_plan_path, parse_plan
from patronage.compensation.results import BONUSES, SOURCE_ORDER, RunResult
from patronage.compensation.snapshot import freeze, thaw
from patronage.config import get_settings
from patronage.db.bulk import write_rows
from patronage.db.compensation import CommissionRun, PayoutLine
from patronage.db.engine import transaction
from patronage.db.loaders import load_period_facts
from patronage.db.tables import Order, OrderLine, Refund, RefundLine
from patronage.errors import Conflict, PatronageError
from patronage.facts import PeriodFacts
from patronage.money import round_half_away


@dataclass(frozen=True)
class PlanSource:
    """A validated plan and the exact text it was read from (kept with a committed run)."""

    plan: Plan
    text: str

    @classmethod
    def from_file(cls, path: Path | None = None) -> PlanSource:
        path = path or default_plan_path()
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
    period: Period
    plan: PlanSource
    facts: PeriodFacts
    result: RunResult
    clawbacks: list[Clawback] = field(default_factory=list)

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


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    tz = zone(get_settings().company_timezone)
    return period.start(tz), period.end(tz)


def _committed(engine: Engine, period: Period) -> CommissionRun | None:
    with transaction(engine) as s:
        return s.scalar(select(CommissionRun).where(CommissionRun.period == str(period)))


def _check_predecessor(engine: Engine, period: Period) -> None:
    before = period.previous()
    if _committed(engine, before) is not None:
        return
    start, end = period_bounds(before)
    with transaction(engine) as s:
        orders = s.scalar(select(func.count()).select_from(Order).where(
            Order.placed_at >= start, Order.placed_at < end)) or 0
    if orders:
        raise Conflict(f"period {period}: the period before it ({before}) has {orders} orders "
                       f"and is still open; commit {before} first")


def _prior_titles(engine: Engine, facts: PeriodFacts) -> np.ndarray:
    """The highest title each member held in committed periods, by member index."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT member_id, MAX(title) FROM rank_records GROUP BY member_id")).all()
    titles = np.full(facts.genealogy.size, -1, dtype=np.int64)
    if rows:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        idx = facts.genealogy.index_of(ids)
        found = idx >= 0
        titles[idx[found]] = np.array([r[1] for r in rows], dtype=np.int64)[found]
    return titles


def _clawbacks(engine: Engine, start: datetime, end: datetime) -> list[Clawback]:
    """Negative lines for refunds in ``[start, end)`` of orders paid in committed periods."""
    tz = zone(get_settings().company_timezone)
    out: list[Clawback] = []
    with transaction(engine) as s:
        rows = s.execute(
            select(Order.id, Order.credited_to_id, Order.placed_at, RefundLine.qv,
                   RefundLine.cv, RefundLine.amount, OrderLine.volume_kind)
            .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
            .join(Refund, Refund.id == RefundLine.refund_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Refund.refunded_at >= start, Refund.refunded_at < end,
                   Order.placed_at < start)
        ).all()
        for order_id, credited, placed_at, qv, cv, amount, volume_kind in rows:
            run = s.scalar(select(CommissionRun).where(
                CommissionRun.period == str(Period.containing(placed_at, tz))))
            if run is None:
                continue
            plan = PlanSource.from_text(run.plan_text, f"run {run.period}").plan
            fs_volume = plan.bonuses.fast_start.volume if plan.bonuses.fast_start else "qv"
            lines = s.scalars(select(PayoutLine).where(
                PayoutLine.run_id == run.id, PayoutLine.clawback_of.is_(None),
                ((PayoutLine.source_kind == "order") & (PayoutLine.source_id == order_id))
                | ((PayoutLine.source_kind == "member") & (PayoutLine.bonus == "unilevel")
                   & (PayoutLine.source_id == (credited or -1))))).all()
            for line in lines:
                if line.bonus == "retail_profit":
                    base = amount
                elif line.bonus == "fast_start":
                    base = qv if fs_volume == "qv" else cv
                elif line.bonus == "unilevel":
                    include = plan.bonuses.unilevel and plan.bonuses.unilevel.include_promotional
                    base = cv if (volume_kind == "consumption" or include) else 0
                else:
                    continue
                if line.volume <= 0 or base <= 0:
                    continue
                take = round_half_away(line.amount * base, line.volume)
                if take:
                    out.append(Clawback(line.earner_id, line.bonus,
                                        0 if line.source_kind == "order" else 1, line.source_id,
                                        line.level, -base, line.rate_bp, -take, line.id))
    return out


def _run(engine: Engine, period: Period, plan: PlanSource, facts: PeriodFacts) -> PeriodRun:
    result = run_engine(facts, plan.plan, _prior_titles(engine, facts))
    start, end = period_bounds(period)
    return PeriodRun(period, plan, facts, result, _clawbacks(engine, start, end))


def preview_period(engine: Engine, period: Period, plan: PlanSource | None = None) -> PeriodRun:
    """Compute the period without writing anything (committed periods show their lock)."""
    plan = plan or PlanSource.from_file()
    _check_predecessor(engine, period)
    start, end = period_bounds(period)
    facts = load_period_facts(engine, start, end, str(period))
    return _run(engine, period, plan, facts)


def commit_period(engine: Engine, period: Period, plan: PlanSource | None, *, now: datetime,
                  actor: str) -> int:
    """Lock the period: snapshot, payout lines, clawbacks, ranks and skips in one transaction."""
    if _committed(engine, period) is not None:
        raise Conflict(f"period {period} is already committed")
    run = preview_period(engine, period, plan)
    snapshot, digest = freeze(run.facts)
    g, r = run.facts.genealogy, run.result
    with transaction(engine) as s:
        record = CommissionRun(
            period=str(period), plan_name=run.plan.plan.name, plan_version=run.plan.plan.version,
            plan_text=run.plan.text, facts_digest=digest, facts_snapshot=snapshot,
            committed_at=now, committed_by=actor, total_cv=r.total_cv,
            total_paid=run.total_paid, cap_applied=r.cap_applied,
        )
        s.add(record)
        s.flush()
        conn = s.connection()
        p = r.payouts
        bonus_names = np.array(BONUSES)
        kinds = np.array(["order", "member"])
        source = _source_ids(g.member_id, p.source_kind, p.source)
        write_rows(conn, "payout_lines", {
            "run_id": np.full(p.size, record.id), "earner_id": g.member_id[p.earner],
            "bonus": bonus_names[p.bonus], "source_kind": kinds[p.source_kind],
            "source_id": source, "level": p.level, "volume": p.volume, "rate_bp": p.rate_bp,
            "amount": p.amount,
        })
        if run.clawbacks:
            s.add_all([PayoutLine(
                run_id=record.id, earner_id=c.earner_id, bonus=c.bonus,
                source_kind="order" if c.source_kind == 0 else "member", source_id=c.source_id,
                level=c.level, volume=c.volume, rate_bp=c.rate_bp, amount=c.amount,
                clawback_of=c.clawback_of) for c in run.clawbacks])
        dist = np.flatnonzero(g.kind == 2)
        write_rows(conn, "rank_records", {
            "run_id": np.full(dist.size, record.id), "member_id": g.member_id[dist],
            "pv": r.pv[dist], "gv": r.gv[dist], "active": r.active[dist],
            "paid_as": r.paid_as[dist], "title": r.title[dist],
        })
        k = r.skips
        skip_source = _source_ids(g.member_id, k.source_kind, k.source)
        write_rows(conn, "payout_skips", {
            "run_id": np.full(k.size, record.id), "bonus": bonus_names[k.bonus],
            "source_kind": kinds[k.source_kind], "source_id": skip_source, "level": k.level,
            "member_id": g.member_id[k.member], "reason": k.reason,
            "passed_to_id": [None if t < 0 else int(g.member_id[t]) for t in k.passed_to.tolist()],
        })
        return record.id


def _source_ids(member_id: np.ndarray, kind: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Order ids stay; member indexes become member ids."""
    out = source.copy()
    members = kind != SOURCE_ORDER
    out[members] = member_id[source[members]]
    return out


def rerun_committed(engine: Engine, period: Period) -> tuple[bool, PeriodRun]:
    """Run the committed snapshot again with its own plan; True when every line is the same."""
    record = _committed(engine, period)
    if record is None:
        raise PatronageError(f"period {period} is not committed")
    facts = thaw(record.facts_snapshot, str(period))
    plan = PlanSource.from_text(record.plan_text, f"run {period}")
    with engine.connect() as conn:
        stored = conn.execute(text(
            "SELECT earner_id, bonus, source_kind, source_id, level, volume, rate_bp, amount "
            "FROM payout_lines WHERE run_id = :r AND clawback_of IS NULL"),
            {"r": record.id}).all()
        prior = conn.execute(text(
            "SELECT member_id, MAX(title) FROM rank_records rr JOIN commission_runs cr "
            "ON cr.id = rr.run_id WHERE cr.period < :p GROUP BY member_id"),
            {"p": str(period)}).all()
    titles = np.full(facts.genealogy.size, -1, dtype=np.int64)
    if prior:
        idx = facts.genealogy.index_of(np.array([r[0] for r in prior], dtype=np.int64))
        titles[idx[idx >= 0]] = np.array([r[1] for r in prior], dtype=np.int64)[idx >= 0]
    result = run_engine(facts, plan.plan, titles)
    g, p = facts.genealogy, result.payouts
    again = sorted(
        (int(g.member_id[e]), BONUSES[b], "order" if k == SOURCE_ORDER else "member",
         int(src if k == SOURCE_ORDER else g.member_id[src]), lv, v, rt, a)
        for e, b, k, src, lv, v, rt, a in p.rows())
    same = again == sorted(tuple(row) for row in stored)
    return same, PeriodRun(period, plan, facts, result)
