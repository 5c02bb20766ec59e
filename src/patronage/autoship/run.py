"""The daily autoship run: due subscriptions are charged and ordered, failures dunned.

Crash safety, per subscription and cycle:
1. the attempt is recorded as ``pending`` under a unique (subscription, cycle, attempt) key and
   committed before the gateway is asked;
2. the gateway is asked with the key ``autoship:<subscription>:<cycle>:<attempt>`` (idempotent by
   contract: the same key never moves money twice);
3. the answer is recorded, and on approval the order is placed with the idempotency key
   ``autoship:<subscription>:<cycle>``, in one transaction.
A run killed anywhere and run again finds the pending attempt, gets the same answer from the
gateway, and finishes: no subscription is charged or ordered twice for the same cycle.

Dunning: a declined charge is retried ``retry_days`` after the cycle's date (e.g. +1, +3, +7);
after the last failure the subscription is suspended (involuntary churn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, and_, or_, select

from patronage.autoship.gateway import PaymentGateway
from patronage.autoship.schedule import first_run, next_run
from patronage.autoship.subscriptions import frequency_of, record
from patronage.clock import require_aware
from patronage.db.autoship import ChargeAttempt, Subscription, SubscriptionItem
from patronage.db.engine import transaction
from patronage.db.tables import Member, Product
from patronage.orders.orders import LineRequest, NewOrder, place_order

RETRY_DAYS = (1, 3, 7)


@dataclass
class RunSummary:
    day: date
    due: int = 0
    approved: int = 0
    declined: int = 0
    suspended: int = 0
    resumed: int = 0
    recovered: int = 0
    ordered: list[int] = field(default_factory=list)  # subscriptions ordered in this run


def _resume_paused(engine: Engine, day: date, now: datetime, summary: RunSummary) -> None:
    with transaction(engine) as s:
        for sub in s.scalars(select(Subscription).where(
                Subscription.status == "paused", Subscription.paused_until <= day)):
            assert sub.paused_until is not None
            sub.status = "active"
            sub.next_run = first_run(sub.paused_until, frequency_of(sub), sub.market)
            sub.paused_until = None
            record(s, sub, "resumed", now, "autoship", f"next run {sub.next_run}")
            summary.resumed += 1


def due_subscriptions(engine: Engine, day: date) -> list[int]:
    """Active subscriptions whose run or retry is due on or before ``day``."""
    with transaction(engine) as s:
        return list(s.scalars(select(Subscription.id).where(
            Subscription.status == "active",
            or_(and_(Subscription.retry_on.is_(None), Subscription.next_run <= day),
                Subscription.retry_on <= day),
        ).order_by(Subscription.id)))


def _amount(engine: Engine, sub_id: int) -> tuple[int, int, list[LineRequest]]:
    with transaction(engine) as s:
        sub = s.get(Subscription, sub_id)
        assert sub is not None
        member = s.get(Member, sub.member_id)
        assert member is not None
        items = s.execute(select(SubscriptionItem.sku, SubscriptionItem.quantity, Product)
                          .join(Product, Product.sku == SubscriptionItem.sku)
                          .where(SubscriptionItem.subscription_id == sub_id)).all()
        total = sum((p.retail_price if member.kind == "retail" else p.wholesale_price) * q
                    for _, q, p in items)
        return sub.member_id, total, [LineRequest(sku, q) for sku, q, _ in items]


def _process(engine: Engine, sub_id: int, gateway: PaymentGateway, now: datetime,
             retry_days: tuple[int, ...], summary: RunSummary) -> None:
    with transaction(engine) as s:
        sub = s.get(Subscription, sub_id)
        assert sub is not None
        cycle, attempt = sub.next_run, sub.failures + 1
    member_id, amount, lines = _amount(engine, sub_id)
    with transaction(engine) as s:
        pending = s.scalar(select(ChargeAttempt).where(
            ChargeAttempt.subscription_id == sub_id, ChargeAttempt.cycle == cycle,
            ChargeAttempt.attempt == attempt))
        if pending is None:
            s.add(ChargeAttempt(subscription_id=sub_id, cycle=cycle, attempt=attempt,
                                status="pending", amount=amount, at=now))
        elif pending.status != "pending":
            return  # already settled by an earlier run
    result = gateway.charge(f"autoship:{sub_id}:{cycle.isoformat()}:{attempt}", member_id,
                            amount, "USD")
    with transaction(engine) as s:
        sub = s.get(Subscription, sub_id)
        row = s.scalar(select(ChargeAttempt).where(
            ChargeAttempt.subscription_id == sub_id, ChargeAttempt.cycle == cycle,
            ChargeAttempt.attempt == attempt))
        assert sub is not None and row is not None
        if row.status != "pending":
            return
        if result.approved:
            placed = place_order(s, NewOrder(
                member_id, now, lines, source="autoship",
                idempotency_key=f"autoship:{sub_id}:{cycle.isoformat()}",
                subscription_id=sub_id))
            row.status, row.order_id = "approved", placed.order.id
            if attempt > 1:
                record(s, sub, "payment_recovered", now, "autoship",
                       f"cycle {cycle}, attempt {attempt}")
                summary.recovered += 1
            record(s, sub, "ordered", now, "autoship", f"order {placed.order.id}, cycle {cycle}")
            sub.next_run = next_run(cycle, frequency_of(sub), sub.market)
            sub.failures, sub.retry_on = 0, None
            summary.approved += 1
            summary.ordered.append(sub_id)
            return
        row.status, row.decline = "declined", result.decline
        sub.failures = attempt
        summary.declined += 1
        record(s, sub, "payment_failed", now, "autoship",
               f"cycle {cycle}, attempt {attempt}: {result.decline}")
        if attempt <= len(retry_days):
            sub.retry_on = cycle + timedelta(days=retry_days[attempt - 1])
            record(s, sub, "retry_scheduled", now, "autoship", f"retry on {sub.retry_on}")
        else:
            sub.status, sub.retry_on, sub.churn = "suspended", None, "involuntary"
            record(s, sub, "suspended", now, "autoship",
                   f"involuntary: {attempt} failed charges for cycle {cycle}")
            summary.suspended += 1


def run_day(engine: Engine, day: date, gateway: PaymentGateway, *, now: datetime,
            retry_days: tuple[int, ...] = RETRY_DAYS) -> RunSummary:
    """Charge and order every subscription due on ``day``; idempotent, safe to re-run."""
    require_aware(now, place="now")
    summary = RunSummary(day)
    _resume_paused(engine, day, now, summary)
    due = due_subscriptions(engine, day)
    summary.due = len(due)
    for sub_id in due:
        _process(engine, sub_id, gateway, now, retry_days, summary)
    return summary
