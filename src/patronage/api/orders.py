"""Orders: list (filters), read, and place with an idempotency key.

A shop or ERP posts each order with a key (the ``Idempotency-Key`` header or the body's
``idempotency_key``): the first post creates it (201); the same post again returns the original
(200) and writes nothing; a different order under a used key is refused (409). Two posts racing
with one key store one order: the loser of the race gets the winner's order back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.access import require_company, visible_member_ids
from patronage.api.deps import CompanyZoneDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.filters import among, at_least, before, equal, filtered
from patronage.api.pagination import Page, PageParams, page_params, paginate
from patronage.api.problems import PROBLEM_RESPONSES
from patronage.api.schemas import OrderIn, OrderLineOut, OrderOut
from patronage.api.types import Id, IsoDatetime
from patronage.db.tables import Order, OrderLine
from patronage.errors import NotFound, PatronageError
from patronage.orders.orders import LineRequest, NewOrder, place_order

router = APIRouter(prefix="/orders", tags=["orders"])
PageDep = Annotated[PageParams, Depends(page_params)]


def order_out(order: Order, lines: Sequence[OrderLine]) -> OrderOut:
    out = OrderOut.model_validate(order)
    out.lines = [OrderLineOut.model_validate(line) for line in lines]
    return out


def visible_order(session: Session, principal: PrincipalDep, order_id: int) -> Order:
    """The order if the caller may see its buyer; otherwise not found."""
    query = select(Order).where(Order.id == order_id)
    ids = visible_member_ids(principal)
    if ids is not None:
        query = query.where(Order.buyer_id.in_(ids))
    order = session.scalar(query)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    return order


@router.get("", dependencies=[scope("orders:read")])
def list_orders(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
    buyer_id: Id | None = None, credited_to_id: Id | None = None,
    source: Literal["enrollment", "autoship", "one_time", "retail"] | None = None,
    placed_from: IsoDatetime | None = None, placed_to: IsoDatetime | None = None,
) -> Page[OrderOut]:
    """Orders of buyers the caller may see, newest first; ``placed_from`` inclusive,
    ``placed_to`` exclusive."""
    for name, moment in (("placed_from", placed_from), ("placed_to", placed_to)):
        if moment is not None and moment.tzinfo is None:
            raise PatronageError(f"{name}: {moment.isoformat()} has no time zone")
    query = filtered(
        select(Order), among(Order.buyer_id, visible_member_ids(principal)),
        equal(Order.buyer_id, buyer_id), equal(Order.credited_to_id, credited_to_id),
        equal(Order.source, source), at_least(Order.placed_at, placed_from),
        before(Order.placed_at, placed_to))
    return paginate(session, request, query.order_by(Order.placed_at.desc(), Order.id.desc()),
                    page, lambda o: order_out(o, []))


@router.get("/{order_id}", dependencies=[scope("orders:read")])
def get_order(order_id: Id, session: SessionDep, principal: PrincipalDep) -> OrderOut:
    order = visible_order(session, principal, order_id)
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                            .order_by(OrderLine.id)).all()
    return order_out(order, lines)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[scope("orders:write")],
             responses={200: {"description": "The order placed before under this key."},
                        409: {**PROBLEM_RESPONSES[409],
                              "description": "The key was used for a different order."}})
def create_order(
    body: OrderIn, response: Response, session: SessionDep, principal: PrincipalDep,
    now: NowDep, company_zone: CompanyZoneDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> OrderOut:
    require_company(principal, "placing orders through the API")
    key = idempotency_key or body.idempotency_key
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise PatronageError("idempotency_key: the header and the body name different keys")
    placed = place_order(session, NewOrder(
        buyer_id=body.buyer_id, placed_at=body.placed_at or now,
        lines=[LineRequest(line.sku, line.quantity, line.unit_price) for line in body.lines],
        source=body.source, currency=body.currency, idempotency_key=key,
    ), now=now, company_zone=company_zone)
    if not placed.created:
        response.status_code = status.HTTP_200_OK
    return order_out(placed.order, placed.lines)
