"""The money of a recorded refund going back: to the card first (what the card paid of the
order, through the gateway that charged it), then as product credit (what credit paid).

:func:`return_payment` is idempotent: the card refund's key is ``refund:<refund id>`` (the
provider's Idempotency-Key too) and the credit entry's key names the refund, so calling it again
for the same refund moves nothing twice. The refund pages and API call it once the refund is
recorded; calling it again later finishes one that failed half way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, func, select

from patronage.clock import require_aware
from patronage.credit.ledger import credit_on_order, refund_credit
from patronage.db.autoship import ChargeAttempt
from patronage.db.credit import CreditEntry
from patronage.db.engine import transaction
from patronage.db.payments import PaymentCharge, PaymentRefund
from patronage.db.tables import Order, Refund
from patronage.errors import NotFound


class RefundingGateway(Protocol):
    def refund(self, key: str, charge_key: str, amount: int) -> object:
        """Refund ``amount`` of the charge ``charge_key``; idempotent by ``key``."""
        ...


@dataclass(frozen=True)
class Returned:
    refund_id: int
    card: int  # minor units back to the card
    credit: int  # minor units back as product credit


def charge_key_of(order: Order, attempts: list[ChargeAttempt]) -> str | None:
    """The gateway key of the charge that paid ``order`` (autoship orders)."""
    for a in attempts:
        if a.order_id == order.id and a.status == "approved":
            return f"autoship:{a.subscription_id}:{a.cycle.isoformat()}:{a.attempt}"
    return None


def return_payment(engine: Engine, refund_id: int, *, gateway: RefundingGateway | None,
                   now: datetime) -> Returned:
    """Send refund ``refund_id``'s money back: to the card up to what it paid and has not had
    back, the rest as credit up to what credit paid (see the module)."""
    require_aware(now, place="now")
    key = f"refund:{refund_id}"
    with transaction(engine) as s:
        refund = s.get(Refund, refund_id)
        if refund is None:
            raise NotFound(f"refund {refund_id} does not exist")
        order = s.get(Order, refund.order_id)
        assert order is not None
        attempts = list(s.scalars(select(ChargeAttempt).where(
            ChargeAttempt.order_id == order.id))) if order.subscription_id else []
        charge_key = charge_key_of(order, attempts)
        charge = s.scalar(select(PaymentCharge).where(PaymentCharge.key == charge_key)) \
            if charge_key else None
        mine = s.scalar(select(PaymentRefund).where(PaymentRefund.key == key))
        card = 0
        if mine is not None:
            card = mine.amount
        elif charge is not None and charge.status == "succeeded":
            asked = int(s.scalar(select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(
                PaymentRefund.charge_key == charge.key, PaymentRefund.status != "failed")) or 0)
            card = max(0, min(refund.total, charge.amount - max(asked, charge.refunded)))
        done = s.scalar(select(CreditEntry.amount).where(
            CreditEntry.key == f"refunded:refund:{refund_id}"))
        credit = int(done) if done is not None else refund_credit(
            s, refund_id, order.id, min(refund.total - card, credit_on_order(s, order.id)), now)
    if card > 0 and gateway is not None and charge_key is not None:
        gateway.refund(key, charge_key, card)
    return Returned(refund_id, card if gateway is not None else 0, credit)
