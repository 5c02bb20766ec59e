"""Refunds against an order: list and record (idempotent with a key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.access import require_company
from patronage.api.deps import CompanyZoneDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.orders import visible_order
from patronage.api.schemas import RefundIn, RefundLineOut, RefundOut
from patronage.api.types import Id
from patronage.db.tables import Refund, RefundLine
from patronage.errors import PatronageError
from patronage.orders.refunds import RefundRequest, refund_order

router = APIRouter(prefix="/orders/{order_id}/refunds", tags=["refunds"])


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
    company_zone: CompanyZoneDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> RefundOut:
    """Refund lines of the order (all that remains when ``quantities`` is omitted)."""
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
    return _out(session, refund)
