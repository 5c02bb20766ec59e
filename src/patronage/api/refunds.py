"""Refunds against an order: list and record (idempotent with a key)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, status
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from patronage.access import require_company
from patronage.api.deps import (
    CompanyZoneDep,
    EngineDep,
    NowDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    scope,
)
from patronage.api.orders import visible_order
from patronage.api.schemas import RefundIn, RefundLineOut, RefundOut
from patronage.api.types import Id
from patronage.config import Settings
from patronage.db.tables import Refund, RefundLine
from patronage.errors import PatronageError
from patronage.orders.refunds import RefundRequest, refund_order

router = APIRouter(prefix="/orders/{order_id}/refunds", tags=["refunds"])
_log = logging.getLogger(__name__)


def _out(session: Session, refund: Refund) -> RefundOut:
    out = RefundOut.model_validate(refund)
    out.lines = [RefundLineOut.model_validate(r) for r in session.scalars(
        select(RefundLine).where(RefundLine.refund_id == refund.id).order_by(RefundLine.id))]
    return out


@router.get("", dependencies=[scope("orders:read")])
def list_refunds(order_id: Id, session: SessionDep, principal: PrincipalDep) -> list[RefundOut]:
    visible_order(session, principal, order_id)
    refunds = session.scalars(select(Refund).where(Refund.order_id == order_id)
                              .order_by(Refund.id)).all()
    return [_out(session, r) for r in refunds]


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[scope("orders:write")])
def create_refund(
    order_id: Id, body: RefundIn, session: SessionDep, principal: PrincipalDep, now: NowDep,
    company_zone: CompanyZoneDep, engine: EngineDep, settings: SettingsDep,
    background: BackgroundTasks,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> RefundOut:
    """Refund lines of the order (all that remains when ``quantities`` is omitted). Once the
    refund is recorded, its money goes back: to the card through the payment gateway, and as
    product credit for what credit paid (:mod:`patronage.payments.refunds`)."""
    require_company(principal, "refunding orders")
    visible_order(session, principal, order_id)
    key = idempotency_key or body.idempotency_key
    if key is not None:
        prior = session.scalar(select(Refund).where(Refund.idempotency_key == key))
        if prior is not None and prior.order_id != order_id:
            raise PatronageError(f"idempotency_key: {key!r} was used for a refund of order "
                                 f"{prior.order_id}")
    refund = refund_order(session, RefundRequest(
        order_id=order_id, refunded_at=body.refunded_at or now, reason=body.reason,
        quantities=body.quantities, idempotency_key=key), now=now, company_zone=company_zone)
    session.flush()
    background.add_task(_return_money, engine, settings, refund.id, now)
    return _out(session, refund)


def _return_money(engine: Engine, settings: Settings, refund_id: int, now: datetime) -> None:
    """After the refund is committed (the session closes before the answer is sent)."""
    from patronage.payments.refunds import return_payment

    gateway = None
    if settings.payment_gateway.strip().lower() == "stripe":
        from patronage.payments.stripe_gateway import StripeGateway

        keys = settings.payment_settings().stripe
        assert keys is not None
        gateway = StripeGateway(engine, keys)
    try:
        return_payment(engine, refund_id, gateway=gateway, now=now)
    except Exception:  # recorded; calling return_payment again finishes it
        _log.exception("refund %s: its money could not be sent back yet", refund_id)
