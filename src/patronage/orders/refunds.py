"""Refunds: their own records against order lines, never more than was paid.

A partial refund of a line takes its volume in proportion to the quantity refunded
(``line.qv × quantity ÷ line.quantity``, rounded half away from zero); the last refund of a line
takes whatever volume and amount remain, so a line fully refunded leaves exactly zero.

A refund is dated in the open period and not in the future, like an order (see
:mod:`patronage.orders.open_period`): its clawback lands in the open period, never in a
committed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patronage.clock import DEFAULT_COMPANY_ZONE, require_aware
from patronage.db.tables import Order, OrderLine, Refund, RefundLine
from patronage.errors import IntegrityViolation, NotFound, PatronageError
from patronage.money import round_half_away
from patronage.orders.open_period import open_window


@dataclass
class RefundRequest:
    order_id: int
    refunded_at: datetime
    reason: str
    #: order line id -> quantity to refund; ``None`` refunds everything not yet refunded.
    quantities: dict[int, int] | None = None
    idempotency_key: str | None = None
    #: The share of the money paid back, in basis points (a buy-back pays 90%); the volume
    #: always leaves whole, so commissions paid on it are clawed back whole.
    amount_share_bp: int = 10_000


Totals = tuple[int, int, int, int]


def _already_refunded(session: Session, line_ids: list[int]) -> dict[int, Totals]:
    rows = session.execute(
        select(RefundLine.order_line_id, func.sum(RefundLine.quantity), func.sum(RefundLine.amount),
               func.sum(RefundLine.qv), func.sum(RefundLine.cv))
        .where(RefundLine.order_line_id.in_(line_ids))
        .group_by(RefundLine.order_line_id)
    ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def refund_order(session: Session, req: RefundRequest, *, now: datetime,
                 company_zone: str = DEFAULT_COMPANY_ZONE) -> Refund:
    """Record a refund; refuses quantities above what remains unrefunded, and a date outside
    the open period or after ``now`` (give or take the clock skew)."""
    if req.idempotency_key is not None:
        prior = session.scalar(select(Refund).where(Refund.idempotency_key == req.idempotency_key))
        if prior is not None:
            return prior
    require_aware(req.refunded_at, place="refunded_at")
    if not 0 <= req.amount_share_bp <= 10_000:
        raise PatronageError(f"amount_share_bp: {req.amount_share_bp} is not between 0 and "
                             "10000 basis points")
    order = session.get(Order, req.order_id)
    if order is None:
        raise NotFound(f"order {req.order_id} does not exist")
    open_window(session, now, company_zone=company_zone).check(
        req.refunded_at, what=f"refund of order {order.id}: refunded_at", noun="refunds")
    if req.refunded_at < order.placed_at:
        raise PatronageError(f"refunded_at: before the order was placed ({order.placed_at})")
    lines = {line.id: line for line in session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id))}
    done = _already_refunded(session, list(lines))
    wanted = req.quantities
    if wanted is None:
        left = {lid: line.quantity - done.get(lid, (0, 0, 0, 0))[0] for lid, line in lines.items()}
        wanted = {lid: q for lid, q in left.items() if q > 0}
        if not wanted:
            raise IntegrityViolation(f"order {order.id} is already fully refunded")
    refund_lines: list[RefundLine] = []
    for line_id, qty in sorted(wanted.items()):
        line = lines.get(line_id)
        if line is None:
            raise IntegrityViolation(f"order line {line_id} is not on order {order.id}")
        if qty <= 0:
            raise PatronageError(f"order line {line_id}: refund quantity must be positive")
        q_done, a_done, qv_done, cv_done = done.get(line_id, (0, 0, 0, 0))
        remaining = line.quantity - q_done
        if qty > remaining:
            raise IntegrityViolation(
                f"order line {line_id}: refunding {qty} but only {remaining} of {line.quantity} "
                "remain unrefunded"
            )
        if qty == remaining:
            amount, qv, cv = line.amount - a_done, line.qv - qv_done, line.cv - cv_done
        else:
            amount = round_half_away(line.amount * qty, line.quantity)
            qv = round_half_away(line.qv * qty, line.quantity)
            cv = round_half_away(line.cv * qty, line.quantity)
        if req.amount_share_bp != 10_000:
            amount = round_half_away(amount * req.amount_share_bp, 10_000)
        refund_lines.append(RefundLine(order_line_id=line_id, quantity=qty, amount=amount,
                                       qv=qv, cv=cv))
    refund = Refund(order_id=order.id, refunded_at=req.refunded_at, reason=req.reason,
                    total=sum(r.amount for r in refund_lines),
                    idempotency_key=req.idempotency_key)
    session.add(refund)
    session.flush()
    for r in refund_lines:
        r.refund_id = refund.id
    session.add_all(refund_lines)
    session.flush()
    return refund
