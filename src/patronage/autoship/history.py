"""An autoship history for the demo company, produced by the real daily run.

Chosen customers sign up a day after joining; then every day of the history the daily run charges
and orders what is due through the simulated gateway (a few declines, most recovered by dunning).
Voluntary behaviour is drawn per subscriber, seeded: a cancel probability per cycle from a
Beta(0.7, 3.0) distribution (so churn is highest in the first months, as the shifted-beta-geometric
model expects), and now and then a skipped month.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Engine, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, cancel, skip_next, subscribe
from patronage.clock import DEFAULT_COMPANY_ZONE
from patronage.db.autoship import Subscription
from patronage.db.engine import transaction
from patronage.db.tables import Member, Product

REASONS = ("too much product at home", "budget", "trying something else", "moving",
           "did not feel a difference")


def simulate_history(engine: Engine, members: list[int], *, start: date, end: date,
                     seed: int, company_zone: str = DEFAULT_COMPANY_ZONE,
                     before_day: Callable[[datetime], None] | None = None) -> dict[str, int]:
    """Sign ``members`` up for autoship when they join and run every day from ``start`` to
    ``end`` (exclusive); ``before_day`` is called with each day's run time before it (the demo
    closes the month that has ended there). Returns counts of what happened."""
    rng = np.random.default_rng(seed)
    with transaction(engine) as s:
        skus = list(s.scalars(select(Product.sku).where(Product.is_enrollment_pack.is_(False))
                              .order_by(Product.id)))
        rows = s.execute(select(Member.id, Member.joined_at).where(Member.id.in_(members))).all()
        joined = {int(mid): at for mid, at in rows}
    churn = dict(zip(members, rng.beta(0.7, 3.0, len(members)).tolist(), strict=True))
    counts = {"subscriptions": 0, "orders": 0, "declines": 0, "recovered": 0, "suspended": 0,
              "cancelled": 0, "skips": 0}
    by_day: dict[date, list[int]] = {}
    for member in members:
        by_day.setdefault(joined[member].date() + timedelta(days=1), []).append(member)
    day = start
    while day < end:
        now = datetime.combine(day, time(7), UTC)
        if before_day is not None:
            before_day(now)
        if by_day.get(day):
            with transaction(engine) as s:
                for member in by_day[day]:
                    picks = rng.choice(len(skus), size=1 + int(rng.random() < 0.3),
                                       replace=False)
                    subscribe(s, member, [Item(skus[int(i)]) for i in picks],
                              Frequency("monthly", int(rng.integers(1, 29))), start=day,
                              now=now, actor="customer", company_zone=company_zone)
                    counts["subscriptions"] += 1
        summary = run_day(engine, day, SimulatedGateway(engine, 0.04, seed), now=now,
                          company_zone=company_zone)
        counts["orders"] += summary.approved
        counts["declines"] += summary.declined
        counts["recovered"] += summary.recovered
        counts["suspended"] += summary.suspended
        if summary.ordered:
            with transaction(engine) as s:
                for sub_id in summary.ordered:
                    sub = s.get(Subscription, sub_id)
                    assert sub is not None
                    draw = rng.random()
                    if draw < churn.get(sub.member_id, 0.1):
                        cancel(s, sub_id, REASONS[int(rng.integers(len(REASONS)))], now=now,
                               actor="customer")
                        counts["cancelled"] += 1
                    elif draw > 0.96:
                        skip_next(s, sub_id, now=now, actor="customer")
                        counts["skips"] += 1
        day += timedelta(days=1)
    return counts
