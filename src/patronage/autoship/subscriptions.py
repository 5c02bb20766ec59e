"""Subscriptions and the self-service actions on them. Every action is a dated event with its
actor. Cancel is always one step: :func:`save_offers` lists what may be offered first, and never
stands in the way of :func:`cancel`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from patronage.autoship.core import schedule
from patronage.autoship.core.schedule import Frequency, first_run
from patronage.clock import DEFAULT_COMPANY_ZONE, require_aware, zone
from patronage.db.autoship import AutoshipEvent, ChargeAttempt, Subscription, SubscriptionItem
from patronage.db.tables import Member, Product
from patronage.errors import N_, Conflict, IntegrityViolation, NotFound, PatronageError
from patronage.markets.markets import autoship_last_days, market_of
from patronage.orders.catalog import quantity_problem

#: How far ahead a new autoship may start.
MAX_START_AHEAD = timedelta(days=365)


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
        raise NotFound(N_("subscription %(subscription_id)s does not exist"),
                       values={"subscription_id": subscription_id})
    return sub


def _check_items(session: Session, items: list[Item]) -> None:
    if not items:
        raise PatronageError(N_("items: an autoship needs at least one item"), values={})
    for i, item in enumerate(items, start=1):
        if item.quantity <= 0:
            raise PatronageError(N_("item %(i)s: quantity must be positive (%(quantity)s)"),
                                 values={"i": i, "quantity": item.quantity})
        product = session.scalar(select(Product).where(Product.sku == item.sku))
        if product is None:
            raise IntegrityViolation(N_("item %(i)s: unknown sku %(sku)r"),
                                     values={"i": i, "sku": item.sku})
        problem = quantity_problem(product.sku, item.quantity, product.max_quantity)
        if problem is not None:
            raise PatronageError(N_("item %(i)s: %(problem)s"),
                                 values={"i": i, "problem": problem})
        if product.is_enrollment_pack:
            raise PatronageError(N_("item %(i)s: %(sku)r is an enrollment pack, not a re-order"),
                                 values={"i": i, "sku": item.sku})
    seen: set[str] = set()
    for i, item in enumerate(items, start=1):
        if item.sku in seen:
            raise PatronageError(N_("item %(i)s: %(sku)r is listed twice; give each product once"),
                                 values={"i": i, "sku": item.sku})
        seen.add(item.sku)


def subscribe(session: Session, member_id: int, items: list[Item], frequency: Frequency, *,
              start: date, now: datetime, actor: str,
              company_zone: str = DEFAULT_COMPANY_ZONE) -> Subscription:
    """A new autoship; the first run is on or after ``start``, which is today or later (in the
    company's time zone) and at most a year ahead: an autoship never charges for cycles before it
    was created."""
    today = company_today(now, company_zone)
    if start < today:
        raise PatronageError(N_("start: %(start)s is before today (%(today)s); an autoship "
                                "starts today or later"),
                             values={"start": start, "today": today})
    if start > today + MAX_START_AHEAD:
        raise PatronageError(N_("start: %(start)s is more than a year ahead (latest %(value)s)"),
                             values={"start": start, "value": today + MAX_START_AHEAD})
    member = session.get(Member, member_id)
    if member is None:
        raise IntegrityViolation(N_("member %(member_id)s does not exist"),
                                 values={"member_id": member_id})
    if member.status in ("terminated", "erased"):
        raise IntegrityViolation(N_("member %(member_id)s is %(status)s"),
                                 values={"member_id": member_id, "status": member.status})
    _check_items(session, items)
    market = market_of(session, member).code
    sub = Subscription(
        member_id=member_id, status="active", frequency=frequency.kind,
        day_of_month=frequency.day, every_weeks=frequency.weeks, market=market,
        next_run=first_run(start, frequency, market, autoship_last_days(session)), failures=0,
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
        raise Conflict(N_("subscription %(subscription_id)s is cancelled"),
                       values={"subscription_id": subscription_id})
    return sub


def company_today(now: datetime, company_zone: str = DEFAULT_COMPANY_ZONE) -> date:
    """The day ``now`` falls on in the company's time zone (``settings.company_timezone``)."""
    return require_aware(now).astimezone(zone(company_zone)).date()


def last_delivery(session: Session, subscription_id: int) -> date | None:
    """The cycle of the subscription's last paid charge (none yet: None)."""
    return session.scalar(select(func.max(ChargeAttempt.cycle)).where(
        ChargeAttempt.subscription_id == subscription_id, ChargeAttempt.status == "approved"))


def plan_of(session: Session, sub: Subscription) -> schedule.Plan:
    return schedule.Plan(frequency_of(sub), sub.market, sub.next_run, sub.status,
                         sub.paused_until, sub.skipped_run, last_delivery(session, sub.id),
                         autoship_last_days(session))


def _apply(sub: Subscription, plan: schedule.Plan) -> None:
    sub.frequency, sub.day_of_month, sub.every_weeks = (
        plan.frequency.kind, plan.frequency.day, plan.frequency.weeks)
    sub.next_run, sub.status = plan.next_run, plan.status
    sub.paused_until, sub.skipped_run = plan.paused_until, plan.skipped


def _not_in_dunning(sub: Subscription, action: str) -> None:
    if sub.retry_on is not None:
        raise Conflict(N_("%(action)s: the payment for the run of %(next_run)s is being retried "
                          "(next try %(retry_on)s); try again once it is settled"),
                       values={"action": action,
                               "next_run": sub.next_run,
                               "retry_on": sub.retry_on})


def skip_next(session: Session, subscription_id: int, *, now: datetime, actor: str) -> date:
    """Skip the next run; returns the new next run date."""
    sub = _open(session, subscription_id)
    _not_in_dunning(sub, "skip")
    skipped = sub.next_run
    _apply(sub, schedule.skip(plan_of(session, sub)))
    record(session, sub, "skipped", now, actor, f"{skipped} skipped; next {sub.next_run}")
    return sub.next_run


def undo_skip(session: Session, subscription_id: int, *, now: datetime, actor: str,
              company_zone: str = DEFAULT_COMPANY_ZONE) -> date:
    """Bring back the run the last skip moved away from, while it is still ahead; returns the
    new next run date."""
    sub = _open(session, subscription_id)
    _not_in_dunning(sub, "undo skip")
    _apply(sub, schedule.undo_skip(plan_of(session, sub), company_today(now, company_zone)))
    record(session, sub, "skip_undone", now, actor, f"next {sub.next_run}")
    return sub.next_run


def pause_until(session: Session, subscription_id: int, until: date, *, now: datetime,
                actor: str,
                company_zone: str = DEFAULT_COMPANY_ZONE) -> None:
    sub = _open(session, subscription_id)
    _not_in_dunning(sub, "pause")
    _apply(sub, schedule.pause(plan_of(session, sub), until, company_today(now, company_zone)))
    record(session, sub, "paused", now, actor, f"until {until}")


def resume(session: Session, subscription_id: int, *, now: datetime, actor: str,
           company_zone: str = DEFAULT_COMPANY_ZONE) -> date:
    """End a pause now (before its date); returns the next run date (after today, and never
    earlier than the run planned before the pause)."""
    sub = _open(session, subscription_id)
    _apply(sub, schedule.resume(plan_of(session, sub),
                                company_today(now, company_zone) + timedelta(days=1)))
    record(session, sub, "resumed", now, actor, f"next run {sub.next_run}")
    return sub.next_run


def restart(session: Session, subscription_id: int, *, now: datetime, actor: str,
            company_zone: str = DEFAULT_COMPANY_ZONE) -> date:
    """Start a cancelled autoship again, with its items and schedule; returns the next run
    date (after today)."""
    sub = get_subscription(session, subscription_id)
    member = session.get(Member, sub.member_id)
    if member is None or member.status in ("terminated", "erased"):
        raise Conflict(N_("restart: member %(member_id)s can no longer order"),
                       values={"member_id": sub.member_id})
    _apply(sub, schedule.restart(plan_of(session, sub), company_today(now, company_zone)))
    sub.cancelled_at, sub.cancel_reason, sub.churn = None, None, None
    sub.failures, sub.retry_on = 0, None
    record(session, sub, "restarted", now, actor, f"next run {sub.next_run}")
    return sub.next_run


def change_date(session: Session, subscription_id: int, day_of_month: int, *, now: datetime,
                actor: str,
                company_zone: str = DEFAULT_COMPANY_ZONE) -> date:
    """Run monthly on another day from the next run on (a skip stays skipped, and deliveries
    never come closer than a month); returns the new next run date."""
    sub = _open(session, subscription_id)
    _not_in_dunning(sub, "change date")
    Frequency("monthly", day_of_month)  # the day is checked before anything changes
    _apply(sub, schedule.change_day(plan_of(session, sub), day_of_month,
                                    company_today(now, company_zone)))
    record(session, sub, "date_changed", now, actor, f"day {day_of_month}; next {sub.next_run}")
    return sub.next_run


def _items(session: Session, subscription_id: int) -> dict[str, SubscriptionItem]:
    return {i.sku: i for i in session.scalars(select(SubscriptionItem).where(
        SubscriptionItem.subscription_id == subscription_id).order_by(SubscriptionItem.id))}


def replace_items(session: Session, subscription_id: int, items: list[Item], *, now: datetime,
                  actor: str) -> None:
    """Replace all the items at once (the company's edit; a customer swaps, adds or removes
    one line at a time)."""
    sub = _open(session, subscription_id)
    _check_items(session, items)
    session.execute(delete(SubscriptionItem).where(
        SubscriptionItem.subscription_id == subscription_id))
    session.add_all([SubscriptionItem(subscription_id=sub.id, sku=i.sku, quantity=i.quantity)
                     for i in items])
    record(session, sub, "items_changed", now, actor,
           ", ".join(f"{i.quantity}×{i.sku}" for i in items))


def swap_item(session: Session, subscription_id: int, sku: str, new_sku: str,
              quantity: int | None = None, *, now: datetime, actor: str) -> None:
    """Replace one product by another (keeping its quantity unless one is given); the other
    lines stay as they are."""
    sub = _open(session, subscription_id)
    lines = _items(session, subscription_id)
    line = lines.get(sku)
    if line is None:
        raise PatronageError(N_("swap: %(sku)r is not on autoship %(subscription_id)s"),
                             values={"sku": sku, "subscription_id": subscription_id})
    new = Item(new_sku, line.quantity if quantity is None else quantity)
    _check_items(session, [new])
    if new.sku != sku and new.sku in lines:
        raise Conflict(N_("swap: %(sku)r is already on autoship %(subscription_id)s; remove "
                          "%(sku2)r instead, or swap %(sku)r to change its quantity"),
                       values={"sku": new.sku, "subscription_id": subscription_id, "sku2": sku})
    before = f"{line.quantity}×{line.sku}"
    line.sku, line.quantity = new.sku, new.quantity
    record(session, sub, "item_swapped", now, actor, f"{before} -> {new.quantity}×{new.sku}")


def add_item(session: Session, subscription_id: int, item: Item, *, now: datetime,
             actor: str) -> None:
    """Add a product as a new line."""
    sub = _open(session, subscription_id)
    _check_items(session, [item])
    if item.sku in _items(session, subscription_id):
        raise Conflict(N_("add: %(sku)r is already on autoship %(subscription_id)s; swap it to "
                          "change its quantity"),
                       values={"sku": item.sku, "subscription_id": subscription_id})
    session.add(SubscriptionItem(subscription_id=sub.id, sku=item.sku, quantity=item.quantity))
    record(session, sub, "item_added", now, actor, f"{item.quantity}×{item.sku}")


def remove_item(session: Session, subscription_id: int, sku: str, *, now: datetime,
                actor: str) -> None:
    """Remove one line; the last one cannot be removed (pause or cancel instead)."""
    sub = _open(session, subscription_id)
    lines = _items(session, subscription_id)
    line = lines.get(sku)
    if line is None:
        raise PatronageError(N_("remove: %(sku)r is not on autoship %(subscription_id)s"),
                             values={"sku": sku, "subscription_id": subscription_id})
    if len(lines) == 1:
        raise Conflict(N_("remove: %(sku)r is the only product on autoship %(subscription_id)s; "
                          "to stop deliveries, pause or cancel the autoship instead"),
                       values={"sku": sku, "subscription_id": subscription_id})
    session.delete(line)
    record(session, sub, "item_removed", now, actor, f"{line.quantity}×{line.sku}")


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
    _apply(sub, schedule.cancel(plan_of(session, sub)))
    sub.cancelled_at = require_aware(now)
    sub.cancel_reason, sub.churn, sub.retry_on = reason.strip() or "(no reason given)", \
        "voluntary", None
    record(session, sub, "cancelled", now, actor, f"voluntary: {sub.cancel_reason}")


def cancel_for_erasure(session: Session, member_id: int, *, now: datetime) -> int:
    """Cancel every autoship of the member that is not cancelled yet (active, paused or
    suspended), each with a ``cancelled`` event by ``erasure``; returns how many."""
    subs = session.scalars(select(Subscription).where(
        Subscription.member_id == member_id, Subscription.status != "cancelled",
    ).order_by(Subscription.id)).all()
    for sub in subs:
        _apply(sub, schedule.cancel(plan_of(session, sub)))
        sub.cancelled_at = require_aware(now)
        sub.cancel_reason, sub.churn, sub.retry_on = "erased on request", "voluntary", None
        record(session, sub, "cancelled", now, "erasure", "voluntary: erased on request")
    return len(subs)
