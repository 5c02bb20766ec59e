"""Autoship reports: retention by start cohort, voluntary and involuntary churn, churn and volume
per distributor, and a forecast from the retention observed.

Months are counted from a subscription's start: a subscription is *retained at month k* when it
had not ended (cancelled, or suspended after failed payments) k months after it started. Only
months fully observed by ``as_of`` count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from patronage.db.autoship import AutoshipEvent, Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order, OrderLine


def _months_between(a: datetime, b: datetime) -> int:
    """Whole months from ``a`` to ``b`` (a month passes on the same day of the month)."""
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if (b.day, b.hour, b.minute) < (a.day, a.hour, a.minute):
        months -= 1
    return max(months, 0)


@dataclass(frozen=True)
class Lifetime:
    subscription_id: int
    member_id: int
    started: datetime
    ended: datetime | None
    churn: str | None  # voluntary | involuntary


def lifetimes(engine: Engine) -> list[Lifetime]:
    with transaction(engine) as s:
        suspended = dict(s.execute(
            select(AutoshipEvent.subscription_id, func.max(AutoshipEvent.at))
            .where(AutoshipEvent.kind == "suspended")
            .group_by(AutoshipEvent.subscription_id)).all())
        out = []
        for sub in s.scalars(select(Subscription).order_by(Subscription.id)):
            ended = sub.cancelled_at if sub.status == "cancelled" else (
                suspended.get(sub.id) if sub.status == "suspended" else None)
            out.append(Lifetime(sub.id, sub.member_id, sub.created_at, ended,
                                sub.churn if ended else None))
    return out


@dataclass(frozen=True)
class CohortRow:
    cohort: str  # YYYY-MM of the start
    started: int
    retained: list[float]  # share retained at month 1, 2, ... (observed months only)


def retention_by_cohort(engine: Engine, as_of: datetime) -> list[CohortRow]:
    groups: dict[str, list[Lifetime]] = defaultdict(list)
    for life in lifetimes(engine):
        if life.started <= as_of:
            groups[f"{life.started.year:04d}-{life.started.month:02d}"].append(life)
    rows = []
    for cohort in sorted(groups):
        lives = groups[cohort]
        observed = min(_months_between(life.started, as_of) for life in lives)
        shares = []
        for k in range(1, observed + 1):
            alive = sum(1 for life in lives
                        if life.ended is None or _months_between(life.started, life.ended) >= k)
            shares.append(alive / len(lives))
        rows.append(CohortRow(cohort, len(lives), shares))
    return rows


def churn_by_kind(engine: Engine, as_of: datetime) -> dict[str, int]:
    """Ended subscriptions: voluntary (cancelled) vs involuntary (payments failed)."""
    counts = {"voluntary": 0, "involuntary": 0, "active": 0}
    for life in lifetimes(engine):
        if life.started > as_of:
            continue
        if life.ended is not None and life.ended <= as_of:
            counts[life.churn or "voluntary"] += 1
        else:
            counts["active"] += 1
    return counts


@dataclass(frozen=True)
class DistributorAutoship:
    distributor_id: int
    active: int
    voluntary: int
    involuntary: int
    orders: int
    cv: int


def by_distributor(engine: Engine, start: datetime, end: datetime) -> list[DistributorAutoship]:
    """Per owner distributor: subscriptions active at ``end``, those ended in ``[start, end)`` by
    kind, and the autoship orders and CV in ``[start, end)``."""
    with transaction(engine) as s:
        owner = dict(s.execute(select(Member.id, Member.owner_id)).all())
        volume = s.execute(
            select(Order.buyer_id, func.count(func.distinct(Order.id)), func.sum(OrderLine.cv))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.source == "autoship", Order.placed_at >= start, Order.placed_at < end)
            .group_by(Order.buyer_id)).all()
    table: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for life in lifetimes(engine):
        who = owner.get(life.member_id)
        if who is None or life.started >= end:
            continue
        if life.ended is None or life.ended >= end:
            table[who][0] += 1
        elif life.ended >= start:
            table[who][1 if life.churn == "voluntary" else 2] += 1
    for buyer, orders, cv in volume:
        who = owner.get(buyer)
        if who is not None:
            table[who][3] += int(orders)
            table[who][4] += int(cv or 0)
    return [DistributorAutoship(d, *v) for d, v in sorted(table.items())]


@dataclass(frozen=True)
class ForecastMonth:
    month: int  # 1 = next month
    subscriptions: float
    cv: float


def forecast(engine: Engine, as_of: datetime, months: int) -> list[ForecastMonth]:
    """Expected active subscriptions and autoship CV for the next ``months`` months: today's
    active subscriptions carried forward at the month-on-month retention observed so far (pooled
    over cohorts), at the average CV of the autoship orders of the last month."""
    exposed = survived = active = 0
    for life in lifetimes(engine):
        if life.started > as_of:
            continue
        observed = _months_between(life.started, as_of)
        lived = observed if life.ended is None else min(
            observed, _months_between(life.started, life.ended))
        # Month k was a chance to stay for everyone still there at k-1; those there at k stayed.
        exposed += min(lived + 1, observed)
        survived += lived
        if life.ended is None or life.ended > as_of:
            active += 1
    retention = survived / exposed if exposed else 1.0
    with transaction(engine) as s:
        month_ago = as_of.replace(day=1)
        orders, cv = s.execute(
            select(func.count(func.distinct(Order.id)), func.sum(OrderLine.cv))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.source == "autoship", Order.placed_at < as_of,
                   Order.placed_at >= month_ago)).one()
    per_order = (int(cv or 0) / orders) if orders else 0.0
    out = []
    expected = float(active)
    for m in range(1, months + 1):
        expected *= retention
        out.append(ForecastMonth(m, expected, expected * per_order))
    return out
