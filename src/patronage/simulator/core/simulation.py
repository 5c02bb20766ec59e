"""The simulation loop: month by month, people join, order and leave, and the production
engine (:func:`patronage.compensation.core.engine.run_engine`) pays the month's plan on the
network as it stands. Deterministic for a seed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from patronage.arrays import sum_by
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import Plan
from patronage.errors import PatronageError
from patronage.facts import KIND_DISTRIBUTOR, PeriodFacts
from patronage.network.core.genealogy import build
from patronage.simulator.core.month import DAY, Joined, join, leave, order, order_lines
from patronage.simulator.core.outputs import MonthArrays, MonthRow, month_figures
from patronage.simulator.core.params import Models, Params, checked
from patronage.simulator.core.population import Population

#: Month 0 of a simulation begins here (the dates only place orders within months).
START = datetime(2027, 1, 1, tzinfo=UTC)

Progress = Callable[[int, int], None]


class TooLarge(PatronageError):
    code = "too_large"


@dataclass
class Simulation:
    plan_version: str
    params: Params
    models: Models
    months: int
    seed: int
    rows: list[MonthRow] = field(default_factory=list)
    people: int = 0  # everyone who ever joined

    @property
    def seconds_simulation(self) -> float:
        return sum(r.seconds_simulation for r in self.rows)

    @property
    def seconds_engine(self) -> float:
        return sum(r.seconds_engine for r in self.rows)


def month_bounds(month: int) -> tuple[int, int]:
    """Unix seconds of the start and end of simulated month ``month``."""
    y, m = divmod(START.month - 1 + month, 12)
    first = datetime(START.year + y, m + 1, 1, tzinfo=UTC)
    y2, m2 = divmod(m + 1, 12)
    after = datetime(START.year + y + y2, m2 + 1, 1, tzinfo=UTC)
    return int(first.timestamp()), int(after.timestamp())


def simulate(plan: Plan, params: Params, models: Models, months: int, seed: int,
             progress: Progress | None = None, max_people: int = 0) -> Simulation:
    """Run ``months`` months of ``plan`` on a simulated company; ``progress(done, months)``
    is called after each month. With ``max_people``, a run that would reach more people is
    stopped with an error saying so."""
    checked(params, models, months)
    rng = np.random.default_rng(seed)
    pop = Population.empty(params.founders * 4)
    founders = np.full(params.founders, KIND_DISTRIBUTOR, np.int64)
    pop.add(founders, np.full(params.founders, -1, np.int64),
            np.full(params.founders, -1, np.int64), 0)
    out = Simulation(plan.version, params, models, months, seed)
    first_line = 1
    starts = np.array([month_bounds(m)[0] for m in range(months)], dtype=np.int64)
    for month in range(months):
        t0 = time.perf_counter()
        start, end = month_bounds(month)
        joined = join(pop, params, models, month, rng) if month else _founding(pop)
        if max_people and pop.size > max_people:
            raise TooLarge(f"the simulation reached {pop.size:,} people by month {month + 1}, "
                           f"more than the {max_people:,} allowed here: lower the rates or "
                           "the market, or run it with `patronage simulate`")
        orders = order(pop, params, models, month, joined, rng)
        live = pop.live()
        pos = np.full(pop.size, -1, dtype=np.int64)
        pos[live] = np.arange(live.shape[0])
        parent = pop.parent[live]
        parent = np.where(parent >= 0, pos[np.maximum(parent, 0)], -1)
        kind = pop.kind[live]
        joined_at = starts[pop.joined[live]] + (live * 7919) % (25 * DAY)
        is_dist = kind == KIND_DISTRIBUTOR
        referrer = pop.referrer[live]
        referrer = np.where((referrer >= 0) & pop.alive[np.maximum(referrer, 0)],
                            pos[np.maximum(referrer, 0)], -1)
        g = build(live + 1, parent, sponsor=np.where(is_dist, parent, -1),
                  owner=np.where(is_dist, -1, parent), referrer=referrer,
                  kind=kind.astype(np.int8), joined_at=joined_at)
        lines, refunds = order_lines(orders, pos, start, end, joined_at, first_line)
        first_line += lines.size
        facts = PeriodFacts(f"M{month + 1:03d}", start, end, g, lines, refunds)
        t1 = time.perf_counter()
        result = run_engine(facts, plan, pop.title[live])
        t2 = time.perf_counter()
        pop.title[live] = result.title
        n = g.size
        earned = sum_by(result.payouts.earner, result.payouts.amount, n)
        keep = ~orders.refunded
        net = np.where(keep, 1, 0)
        ordered = np.zeros(n, dtype=bool)
        ordered[lines.buyer[keep]] = True
        arrays = MonthArrays(g, lines.buyer, lines.credited_to, lines.qv * net, lines.cv * net,
                             lines.amount * net, lines.promotional, lines.customer_purchase,
                             earned, ordered)
        figures = month_figures(arrays, params.monthly_expenses,
                                params.min_customer_share)
        new = joined.people
        new_dist = int((pop.kind[new] == KIND_DISTRIBUTOR).sum())
        reached = pop.size
        payout = int(result.payouts.amount.sum())
        total_cv = int(result.total_cv)
        left = leave(pop, params, orders, month, rng)
        t3 = time.perf_counter()
        out.rows.append(MonthRow(
            month=month + 1, new_distributors=new_dist,
            new_customers=int(new.shape[0]) - new_dist, upgrades=int(joined.upgraded.shape[0]),
            left_distributors=left.distributors, left_customers=left.customers, reached=reached,
            market_reached=reached / params.market if params.market else 0.0,
            total_cv=total_cv, payout=payout,
            payout_share_of_cv=payout / total_cv if total_cv else 0.0,
            cap_applied=bool(result.cap_applied),
            seconds_simulation=(t1 - t0) + (t3 - t2), seconds_engine=t2 - t1, **figures))
        if progress is not None:
            progress(month + 1, months)
    out.people = pop.size
    return out


def _founding(pop: Population) -> Joined:
    """Month 0: the founders are the month's joins."""
    return Joined(np.arange(pop.size, dtype=np.int64), np.zeros(0, dtype=np.int64))
