"""Subscriptions and the self-service actions on them. Every action is a dated event with its
actor. Cancel is always one step: :func:`save_offers` lists what may be offered first, and never
stands in the way of :func:`cancel`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from patronage.autoship.schedule import Frequency, first_run, next_run
from patronage.clock import require_aware
from patronage.db.autoship import AutoshipEvent, Subscription, SubscriptionItem
from patronage.db.tables import Member, Product
from patronage.errors import Conflict, IntegrityViolation, NotFound, PatronageError
from patronage.orders.catalog import quantity_problem


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: int = 1


def record(session: Session, sub: Subscription, kind: str, at: datetime, actor: str,
           detail: str = "") -> None:
    session.add(AutoshipEvent(subscription_id=sub.id, member_id=sub.member_id, kind=kind,
                              at=require_aware(at), actor=actor, detail=detail))


def frequency_of(sub: Subscription) -> Frequency:
    return Frequency(sub.frequency, sub.day_of_month, sub.every_weeks)


def get_subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"subscription {subscription_id} does not exist")
    return sub


def _check_items(session: Session, items: list[Item]) -> None:
    if not items:
        raise PatronageError("items: an autoship needs at least one item")
    for i, item in enumerate(items, start=1):
        if item.quantity <= 0:
            raise PatronageError(f"item {i}: quantity must be positive ({item.quantity})")
        product = session.scalar(select(Product).where(Product.sku == item.sku))
        if product is None:
            raise IntegrityViolation(f"item {i}: unknown sku {item.sku!r}")
        problem = quantity_problem(product.sku, item.quantity, product.max_quantity)
        if problem is not None:
            raise PatronageError(f"item {i}: {problem}")
        if product.is_enrollment_pack:
            raise PatronageError(f"item {i}: {item.sku!r} is an enrollment pack, not a re-order")


def subscribe(session: Session, member_id: int, items: list[Item], frequency: Frequency, *,
              start: date, now: datetime, actor: str) -> Subscription:
    """A new autoship; the first run is on or after ``start``."""
    member = session.get(Member, member_id)
    if member is None:
        raise IntegrityViolation(f"member {member_id} does not exist")
    if member.status in ("terminated", "erased"):
        raise IntegrityViolation(f"member {member_id} is {member.status}")
    _check_items(session, items)
    sub = Subscription(
        member_id=member_id, status="active", frequency=frequency.kind,
        day_of_month=frequency.day, every_weeks=frequency.weeks, market=member.country,
        next_run=first_run(start, frequency, member.country), failures=0,
        created_at=require_aware(now),
    )
    session.add(sub)
    session.flush()
    session.add_all([SubscriptionItem(subscription_id=sub.id, sku=i.sku, quantity=i.quantity)
                     for i in items])
    record(session, sub, "created", now, actor, ", ".join(f"{i.quantity}×{i.sku}" for i in items))
    session.flush()
    return sub


def _open(session: Session, subscription_id: int) -> Subscription:
    sub = get_subscription(session, subscription_id)
    if sub.status == "cancelled":
        raise Conflict(f"subscription {subscription_id} is cancelled")
    return sub


def skip_next(session: Session, subscription_id: int, *, now: datetime, actor: str) -> date:
    """Skip the next run; returns the new next run date."""
    sub = _open(session, subscription_id)
    skipped = sub.next_run
    sub.next_run = next_run(skipped, frequency_of(sub), sub.market)
    record(session, sub, "skipped", now, actor, f"{skipped} skipped; next {sub.next_run}")
    return sub.next_run


def pause_until(session: Session, subscription_id: int, until: date, *, now: datetime,
                actor: str) -> None:
    sub = _open(session, subscription_id)
    if until <= now.date():
        raise PatronageError(f"pause until: {until} is not in the future")
    sub.status, sub.paused_until = "paused", until
    record(session, sub, "paused", now, actor, f"until {until}")


def change_date(session: Session, subscription_id: int, day_of_month: int, *, now: datetime,
                actor: str) -> date:
    """Run monthly on another day from now on; returns the new next run date."""
    sub = _open(session, subscription_id)
    frequency = Frequency("monthly", day_of_month)
    sub.frequency, sub.day_of_month = "monthly", day_of_month
    sub.next_run = first_run(now.date(), frequency, sub.market)
    record(session, sub, "date_changed", now, actor, f"day {day_of_month}; next {sub.next_run}")
    return sub.next_run


def swap_items(session: Session, subscription_id: int, items: list[Item], *, now: datetime,
               actor: str) -> None:
    """Replace the items (to add one, pass the current items plus the new one)."""
    sub = _open(session, subscription_id)
    _check_items(session, items)
    session.execute(delete(SubscriptionItem).where(
        SubscriptionItem.subscription_id == subscription_id))
    session.add_all([SubscriptionItem(subscription_id=sub.id, sku=i.sku, quantity=i.quantity)
                     for i in items])
    record(session, sub, "items_changed", now, actor,
           ", ".join(f"{i.quantity}×{i.sku}" for i in items))


def save_offers(session: Session, subscription_id: int) -> list[str]:
    """What may be offered before a cancel (never required: cancel is one step)."""
    sub = _open(session, subscription_id)
    offers = [f"skip the run of {sub.next_run}", "pause for a month or two",
              "swap to another product", "change the date"]
    return offers


def cancel(session: Session, subscription_id: int, reason: str, *, now: datetime,
           actor: str) -> None:
    """Cancel at once, with the reason (voluntary churn)."""
    sub = _open(session, subscription_id)
    sub.status, sub.cancelled_at = "cancelled", require_aware(now)
    sub.cancel_reason, sub.churn, sub.retry_on = reason.strip() or "(no reason given)", \
        "voluntary", None
    record(session, sub, "cancelled", now, actor, f"voluntary: {sub.cancel_reason}")
