"""The money of a commission run: order money converted into the plan currency before the
engine runs, and each payout line converted into its earner's currency after, at the rates the
run froze.

The engine pays on points and computes money in the plan (company) currency. Before it runs,
the amounts of every order and refund line in another currency (line amount, retail and
wholesale totals) are converted into the plan currency at the period's rate (the latest on or
before the period's last day); the facts snapshot keeps them converted, with each member's
currency, and the run keeps the rates (``commission_run_rates``), so a replay after the rates
table changes gives the same lines. After it runs, every payout line is converted into the
earner's market currency in one vectorised step (:func:`earner_amounts`). Only rows in a
currency other than the plan's are read for this: a company selling in one currency pays
nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Engine, select, text

from patronage.arrays import I64, index_of
from patronage.clock import Period, Week, zone
from patronage.db.engine import transaction
from patronage.db.loaders import bound_time
from patronage.db.markets import RunRate
from patronage.facts import PeriodFacts
from patronage.markets.core.conversion import Rates, columns_to_plan, from_plan, to_plan
from patronage.markets.core.currencies import numeric
from patronage.markets.rates import rates_on


@dataclass(frozen=True)
class RunMoney:
    """The run's rates (with the day each was dated) and each member's currency, as an index
    into ``rates.codes`` by member index (0: the plan currency)."""

    rates: Rates
    days: dict[str, date]
    member_currency: I64

    def numerics(self) -> I64:
        """The ISO 4217 number of each of ``rates.codes``."""
        return np.array([numeric(c) for c in self.rates.codes], dtype=np.int64)


def _foreign(engine: Engine, sql: str, params: dict[str, object]) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(int(a), str(b)) for a, b in conn.execute(text(sql), params).all()]


def prepare(engine: Engine, facts: PeriodFacts, period: Period | Week, *, plan_currency: str,
            timezone: str) -> tuple[PeriodFacts, RunMoney]:
    """The facts with their money in the plan currency, and the run's money; refused, naming
    the period and the currencies, when a currency it needs has no rate."""
    tz = zone(timezone)
    start, end = period.start(tz), period.end(tz)
    last_day = (end.astimezone(tz) - timedelta(seconds=1)).date()
    with engine.connect() as conn:
        bounds = {"s": bound_time(conn, start), "e": bound_time(conn, end), "p": plan_currency}
    lines = _foreign(engine, (
        "SELECT l.id, o.currency FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.placed_at >= :s AND o.placed_at < :e AND o.status = 'paid' "
        "AND o.currency <> :p"), bounds)
    refunds = _foreign(engine, (
        "SELECT rl.id, o.currency FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id "
        "JOIN order_lines l ON l.id = rl.order_line_id JOIN orders o ON o.id = l.order_id "
        "WHERE r.refunded_at >= :s AND r.refunded_at < :e AND o.currency <> :p"), bounds)
    members = _foreign(engine, (
        "SELECT m.id, k.currency FROM members m JOIN markets k ON k.id = m.market_id "
        "WHERE k.currency <> :p"), {"p": plan_currency})
    needed = {c for _, c in lines} | {c for _, c in refunds} | {c for _, c in members}
    with transaction(engine) as s:
        rates, days = rates_on(s, needed, last_day, base=plan_currency,
                               place=f"period {period}")
    return _converted(facts, rates, lines, refunds), RunMoney(
        rates, days, _by_member(facts, rates, members))


def _codes(rates: Rates, rows: list[tuple[int, str]]) -> tuple[I64, I64]:
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    codes = np.array([rates.index(r[1]) for r in rows], dtype=np.int64)
    return ids, codes


def _by_member(facts: PeriodFacts, rates: Rates, rows: list[tuple[int, str]]) -> I64:
    currency = np.zeros(facts.genealogy.size, dtype=np.int64)
    ids, codes = _codes(rates, rows)
    at = facts.genealogy.index_of(ids)
    currency[at[at >= 0]] = codes[at >= 0]
    return currency


def _converted(facts: PeriodFacts, rates: Rates, lines: list[tuple[int, str]],
               refunds: list[tuple[int, str]]) -> PeriodFacts:
    if not lines and not refunds:
        return facts
    line_currency = np.zeros(facts.lines.size, dtype=np.int64)
    ids, codes = _codes(rates, lines)
    at = index_of(facts.lines.line_id, ids)
    line_currency[at[at >= 0]] = codes[at >= 0]
    refund_currency = np.zeros(facts.refunds.size, dtype=np.int64)
    ids, codes = _codes(rates, refunds)
    at = index_of(facts.refunds.refund_line_id, ids)
    refund_currency[at[at >= 0]] = codes[at >= 0]
    amount, retail, wholesale = columns_to_plan(
        [facts.lines.amount, facts.lines.retail_total, facts.lines.wholesale_total],
        line_currency, rates)
    new_lines = replace(facts.lines, amount=amount, retail_total=retail,
                        wholesale_total=wholesale)
    new_refunds = replace(facts.refunds,
                          amount=to_plan(facts.refunds.amount, refund_currency, rates))
    return replace(facts, lines=new_lines, refunds=new_refunds)


def earner_amounts(money: RunMoney, earner: I64, amount: I64) -> tuple[I64, I64]:
    """Each plan-currency amount in its earner's currency (earner: member indexes), and that
    currency's ISO 4217 number."""
    currency = money.member_currency[earner]
    return from_plan(amount, currency, money.rates), money.numerics()[currency]


def store_rates(session: object, run_id: int, money: RunMoney) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    session.add_all([RunRate(run_id=run_id, currency=c, rate=money.rates.to_plan[c],
                             day=money.days[c]) for c in money.rates.codes[1:]])


def frozen_rates(engine: Engine, run_id: int, plan_currency: str) -> tuple[Rates, dict[str, date]]:
    """The rates a committed run froze."""
    with transaction(engine) as s:
        rows = s.execute(select(RunRate.currency, RunRate.rate, RunRate.day)
                         .where(RunRate.run_id == run_id)).all()
    return (Rates(plan_currency, {c: int(r) for c, r, _ in rows}),
            {c: d for c, _, d in rows})
