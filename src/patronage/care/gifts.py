"""Samples and gifts as care: a card rule may name a product (``gift = "SKU"``) sent with the
card on the occasion — a sample of a new product, a birthday gift.

A gift is paid from a budget (:class:`~patronage.db.care_gifts.GiftBudget`, at the product's
wholesale price): the distributor's own (the touch's owner) if they set one, else the
company's. A budget limits the spend per calendar month, and per customer per calendar year.
:func:`send_gifts` (run by every ``care deliver``) takes each due card touch of a gift rule:

- within budget: the gift becomes an order of the product at price 0 for the customer (no
  volume, so no commission: a zero-price line carries volume only for products marked
  ``volume_when_free``), which reaches fulfilment like any order; the gift is recorded with
  its cost, and the card goes out as usual;
- over budget, or no budget: the card touch is *dropped* with the reason (``gift over budget:
  the month's budget of 50.00 has 10.00 left, the gift costs 20.00``).

Its cost is reported against the retention it buys in the holdout report (gift orders, at
price 0, do not count as a customer ordering again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.care.core.rules import Rules
from patronage.care.playbooks import load_playbooks
from patronage.db.care import Touch
from patronage.db.care_gifts import Gift, GiftBudget
from patronage.db.tables import Product
from patronage.errors import PatronageError
from patronage.money import format_amount
from patronage.orders.orders import LineRequest, NewOrder, place_order


@dataclass
class GiftReport:
    sent: list[int] = field(default_factory=list)
    dropped: dict[int, str] = field(default_factory=dict)
    cost: int = 0


def set_budget(session: Session, payer_id: int | None, *, per_month: int,
               per_customer_year: int, now: datetime) -> GiftBudget:
    """Set the company's (``payer_id`` None) or a distributor's gift budget (minor units)."""
    for name, value in (("per_month", per_month), ("per_customer_year", per_customer_year)):
        if value < 0:
            raise PatronageError(f"gift budget: {name}: {value} must not be negative")
    budget = session.scalar(select(GiftBudget).where(
        GiftBudget.payer_id.is_(None) if payer_id is None else GiftBudget.payer_id == payer_id))
    if budget is None:
        budget = GiftBudget(payer_id=payer_id, per_month=per_month,
                            per_customer_year=per_customer_year, updated_at=now)
        session.add(budget)
    else:
        budget.per_month, budget.per_customer_year = per_month, per_customer_year
        budget.updated_at = now
    session.flush()
    return budget


def _spent(session: Session, since: datetime, **where: int | None) -> int:
    query = select(func.coalesce(func.sum(Gift.cost), 0)).where(Gift.sent_at >= since)
    for column, value in where.items():
        col = getattr(Gift, column)
        query = query.where(col.is_(None) if value is None else col == value)
    return int(session.scalar(query) or 0)


def _refusal(session: Session, budget: GiftBudget | None, member_id: int, cost: int,
             now: datetime) -> str | None:
    if budget is None:
        return "gift: no gift budget is set (the distributor's or the company's)"
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    year = datetime(now.year, 1, 1, tzinfo=UTC)
    left = budget.per_month - _spent(session, month, payer_id=budget.payer_id)
    if cost > left:
        return (f"gift over budget: the month's budget of {format_amount(budget.per_month)} "
                f"has {format_amount(max(left, 0))} left, the gift costs {format_amount(cost)}")
    left = budget.per_customer_year - _spent(session, year, member_id=member_id)
    if cost > left:
        return (f"gift over budget: {format_amount(budget.per_customer_year)} a customer a "
                f"year, {format_amount(max(left, 0))} left for this customer, the gift costs "
                f"{format_amount(cost)}")
    return None


def send_gifts(session: Session, now: datetime, rules: Rules) -> GiftReport:
    """Send the gifts of the card touches due by ``now`` (see the module's description)."""
    report = GiftReport()
    adopted = load_playbooks(session.connection(), rules)  # the team playbooks' gift rules
    gift_of = {r.key: r.gift for r in (adopted.rules if adopted else rules).rules if r.gift}
    if not gift_of:
        return report
    touches = list(session.scalars(
        select(Touch).where(Touch.status == "planned", Touch.channel == "card",
                            Touch.due_at <= now, Touch.rule_key.in_(sorted(gift_of)),
                            ~select(Gift.touch_id).where(Gift.touch_id == Touch.id).exists())
        .order_by(Touch.due_at, Touch.id)))
    for touch in touches:
        sku = gift_of[touch.rule_key]
        assert sku is not None
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None or not product.active:
            touch.status, touch.drop_reason = "dropped", f"gift: no active product {sku!r}"
            report.dropped[touch.id] = touch.drop_reason
            continue
        budget = None
        if touch.owner_id is not None:
            budget = session.scalar(select(GiftBudget).where(
                GiftBudget.payer_id == touch.owner_id))
        budget = budget or session.scalar(select(GiftBudget).where(
            GiftBudget.payer_id.is_(None)))
        cost = int(product.wholesale_price)
        reason = _refusal(session, budget, touch.member_id, cost, now)
        if reason is not None:
            touch.status, touch.drop_reason = "dropped", reason[:200]
            report.dropped[touch.id] = reason
            continue
        assert budget is not None
        try:
            with session.begin_nested():
                placed = place_order(session, NewOrder(
                    touch.member_id, now, [LineRequest(sku, 1, unit_price=0)],
                    idempotency_key=f"care-gift-{touch.id}"), now=now)
        except PatronageError as exc:  # the order path refused it: the card says why
            touch.status, touch.drop_reason = "dropped", f"gift: {exc}"[:200]
            report.dropped[touch.id] = touch.drop_reason
            continue
        session.add(Gift(touch_id=touch.id, member_id=touch.member_id,
                         payer_id=budget.payer_id, order_id=placed.order.id, cost=cost,
                         sent_at=now))
        session.flush()
        report.sent.append(touch.id)
        report.cost += cost
    return report
