"""Buy-back and cooling-off: money back for what a distributor bought, through the refund path.

- **Buy-back**: a distributor returns resaleable inventory from one of their own orders placed
  within ``buy_back_days`` (365 by default) of the request; they are refunded
  ``buy_back_share_bp`` of the net price they paid (90% by default, rounded half away from zero
  per line). Staff judge whether the goods are resaleable before recording it.
- **Cooling-off**: a distributor who joined within the cooling-off days may cancel their
  enrollment: every order of theirs not yet refunded is refunded in full, their autoships are
  cancelled and they are terminated. The days are the longer of the company's
  ``cooling_off_days`` (14 by default) and the law of the distributor's market (the market's
  ``cooling_off_days``): the law is a minimum a company may exceed.

Either way the refund takes the orders' volume back whole, so the next commission run claws
back every commission paid on those orders (see :mod:`patronage.orders.refunds`); the refund is
dated in the open period. Requests carry an idempotency key: the same request twice records it
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.autoship.subscriptions import cancel
from patronage.clock import DEFAULT_COMPANY_ZONE
from patronage.config import Settings
from patronage.db.autoship import Subscription
from patronage.db.compliance import BuyBack
from patronage.db.tables import Member, Order, OrderLine, Refund, RefundLine
from patronage.errors import NotFound, PatronageError
from patronage.markets.markets import market_of
from patronage.orders.refunds import RefundRequest, refund_order

BUY_BACK, COOLING_OFF = "buy_back", "cooling_off"


@dataclass(frozen=True)
class ReturnRules:
    share_bp: int = 9000
    window_days: int = 365
    cooling_off_days: int = 14

    @classmethod
    def of(cls, settings: Settings) -> ReturnRules:
        """The company's rules from its settings."""
        return cls(share_bp=settings.buy_back_share_bp, window_days=settings.buy_back_days,
                   cooling_off_days=settings.cooling_off_days)


def _distributor(session: Session, member_id: int, what: str) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"{what}: member {member_id} does not exist")
    if member.kind != "distributor":
        raise PatronageError(f"{what}: member {member_id} is a {member.kind}, not a distributor")
    if member.status in ("terminated", "erased"):
        raise PatronageError(f"{what}: member {member_id} is {member.status}")
    return member


def _prior(session: Session, key: str) -> list[BuyBack] | None:
    found = list(session.scalars(
        select(BuyBack).join(Refund, Refund.id == BuyBack.refund_id)
        .where(Refund.idempotency_key.like(f"{key}:%")).order_by(BuyBack.id)))
    return found or None


def buy_back(session: Session, member_id: int, order_id: int, *, now: datetime,
             rules: ReturnRules, key: str, quantities: dict[int, int] | None = None,
             note: str = "", company_zone: str = DEFAULT_COMPANY_ZONE) -> BuyBack:
    """Take back inventory of ``order_id`` (every unrefunded unit, or ``quantities`` by order
    line) at the company's share."""
    what = f"buy-back of order {order_id}"
    prior = _prior(session, f"buyback:{key}")
    if prior:
        return prior[0]
    member = _distributor(session, member_id, what)
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"{what}: the order does not exist")
    if order.buyer_id != member.id:
        raise PatronageError(f"{what}: the order was bought by member {order.buyer_id}, not by "
                             f"member {member.id}")
    if order.status != "paid":
        raise PatronageError(f"{what}: the order is {order.status}")
    if order.placed_at < now - timedelta(days=rules.window_days):
        raise PatronageError(f"{what}: placed {order.placed_at:%Y-%m-%d}, more than "
                             f"{rules.window_days} days ago")
    refund = refund_order(session, RefundRequest(
        order.id, now, f"buy-back at {rules.share_bp / 100:g}%", quantities=quantities,
        idempotency_key=f"buyback:{key}:{order.id}", amount_share_bp=rules.share_bp),
        now=now, company_zone=company_zone)
    record = BuyBack(member_id=member.id, kind=BUY_BACK, order_id=order.id,
                     refund_id=refund.id, share_bp=rules.share_bp, amount=refund.total,
                     currency=order.currency, requested_at=now, note=note)
    session.add(record)
    session.flush()
    return record


def cooling_off_days(session: Session, member: Member, rules: ReturnRules) -> int:
    """The member's cooling-off days: the company's, or their market's law when longer."""
    return max(rules.cooling_off_days, market_of(session, member).cooling_off_days)


def cool_off(session: Session, member_id: int, *, now: datetime, rules: ReturnRules, key: str,
             note: str = "", company_zone: str = DEFAULT_COMPANY_ZONE) -> list[BuyBack]:
    """Cancel a new distributor's enrollment within the cooling-off days: refund every order
    of theirs in full and terminate them."""
    what = f"cooling-off cancellation of member {member_id}"
    prior = _prior(session, f"cooloff:{key}")
    if prior:
        return prior
    member = _distributor(session, member_id, what)
    days = cooling_off_days(session, member, rules)
    if member.joined_at < now - timedelta(days=days):
        raise PatronageError(f"{what}: joined {member.joined_at:%Y-%m-%d}, more than "
                             f"{days} days ago (the cooling-off days)")
    orders = list(session.scalars(select(Order).where(Order.buyer_id == member.id,
                                                      Order.status == "paid")
                                  .order_by(Order.id)))
    records = []
    for order in orders:
        if not _unrefunded(session, order.id):
            continue
        refund = refund_order(session, RefundRequest(
            order.id, now, "cooling-off cancellation", idempotency_key=f"cooloff:{key}:{order.id}"),
            now=now, company_zone=company_zone)
        records.append(BuyBack(member_id=member.id, kind=COOLING_OFF, order_id=order.id,
                               refund_id=refund.id, share_bp=10_000, amount=refund.total,
                               currency=order.currency, requested_at=now, note=note))
    for sub_id in session.scalars(select(Subscription.id).where(
            Subscription.member_id == member.id, Subscription.status != "cancelled")):
        cancel(session, sub_id, "cooling-off cancellation", now=now, actor="cooling-off")
    member.status = "terminated"
    member.deactivated_at = now
    session.add_all(records)
    session.flush()
    return records


def _unrefunded(session: Session, order_id: int) -> bool:
    lines = session.execute(select(OrderLine.id, OrderLine.quantity)
                            .where(OrderLine.order_id == order_id)).all()
    done = {r[0]: int(r[1]) for r in session.execute(
        select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
        .where(RefundLine.order_line_id.in_([r[0] for r in lines]))
        .group_by(RefundLine.order_line_id)).all()}
    return any(q > done.get(i, 0) for i, q in lines)


@dataclass(frozen=True)
class BuyBackRow:
    id: int
    member_id: int
    name: str
    kind: str
    order_id: int
    share_bp: int
    amount: int
    currency: str
    requested_at: datetime


def recent_buy_backs(session: Session, limit: int = 20) -> tuple[int, list[BuyBackRow]]:
    """How many buy-backs and cancellations there are, and the ``limit`` latest."""
    count = int(session.scalar(select(func.count()).select_from(BuyBack)) or 0)
    rows = session.execute(
        select(BuyBack, Member.first_name, Member.last_name)
        .join(Member, Member.id == BuyBack.member_id)
        .order_by(BuyBack.requested_at.desc(), BuyBack.id.desc()).limit(limit)).all()
    return count, [BuyBackRow(b.id, b.member_id, f"{first} {last}".strip(), b.kind, b.order_id,
                              b.share_bp, b.amount, b.currency, b.requested_at)
                   for b, first, last in rows]
