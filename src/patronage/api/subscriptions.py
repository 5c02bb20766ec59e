"""Autoship subscriptions and the self-service actions on them: skip and undo a skip, pause
and resume, change date, swap, add or remove a product, cancel (one step; save offers are
listed, never required) and restart. A customer acts on their own subscriptions; the company on
anyone's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.access import Principal, require_member, require_record, visible_member_ids
from patronage.api.deps import CompanyZoneDep, NowDep, PrincipalDep, SessionDep, scope
from patronage.api.filters import among, equal, filtered
from patronage.api.pagination import Page, PageParams, page_params, paginate
from patronage.api.schemas import (
    CancelIn,
    ChangeDateIn,
    ItemIn,
    ItemsIn,
    NextRunOut,
    PauseIn,
    SubscriptionIn,
    SubscriptionOut,
    SwapIn,
)
from patronage.api.types import Id, Sku
from patronage.autoship import subscriptions as service
from patronage.autoship.core.schedule import Frequency
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.errors import NotFound

router = APIRouter(prefix="/subscriptions", tags=["autoship"])
PageDep = Annotated[PageParams, Depends(page_params)]


def _out(session: Session, sub: Subscription) -> SubscriptionOut:
    out = SubscriptionOut.model_validate(sub)
    out.items = [ItemIn(sku=i.sku, quantity=i.quantity) for i in session.scalars(
        select(SubscriptionItem).where(SubscriptionItem.subscription_id == sub.id)
        .order_by(SubscriptionItem.sku))]
    return out


def _visible(session: Session, principal: Principal, subscription_id: Id) -> Subscription:
    return require_record(session, principal, Subscription, subscription_id, "subscription")


def _next(sub: Subscription) -> NextRunOut:
    return NextRunOut(subscription_id=sub.id, next_run=sub.next_run, status=sub.status)


@router.get("", dependencies=[scope("autoship:read")])
def list_subscriptions(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageDep,
    member_id: Id | None = None,
    sub_status: Annotated[Literal["active", "paused", "suspended", "cancelled"] | None,
                          Query(alias="status")] = None,
) -> Page[SubscriptionOut]:
    query = filtered(
        select(Subscription), among(Subscription.member_id, visible_member_ids(principal)),
        equal(Subscription.member_id, member_id), equal(Subscription.status, sub_status))
    return paginate(session, request, query.order_by(Subscription.id), page,
                    lambda s: _out(session, s))


@router.get("/{subscription_id}", dependencies=[scope("autoship:read")])
def get_subscription(subscription_id: Id, session: SessionDep,
                     principal: PrincipalDep) -> SubscriptionOut:
    return _out(session, _visible(session, principal, subscription_id))


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[scope("autoship:write")])
def subscribe(body: SubscriptionIn, session: SessionDep, principal: PrincipalDep,
              now: NowDep, company_zone: CompanyZoneDep) -> SubscriptionOut:
    require_member(session, principal, body.member_id)
    if not principal.is_company and principal.member_id != body.member_id:
        raise NotFound(f"member {body.member_id} does not exist")
    sub = service.subscribe(
        session, body.member_id, [service.Item(i.sku, i.quantity) for i in body.items],
        Frequency(body.frequency, body.day_of_month, body.every_weeks),
        start=body.start or service.company_today(now, company_zone), now=now,
        actor=principal.actor, company_zone=company_zone)
    return _out(session, sub)


def _own(session: Session, principal: Principal, subscription_id: Id) -> Subscription:
    """A subscription the caller may change: the company's, or the customer's own."""
    sub = _visible(session, principal, subscription_id)
    if not principal.is_company and principal.member_id != sub.member_id:
        raise NotFound(f"subscription {subscription_id} does not exist")
    return sub


@router.post("/{subscription_id}/skip", dependencies=[scope("autoship:write")])
def skip(subscription_id: Id, session: SessionDep, principal: PrincipalDep,
         now: NowDep) -> NextRunOut:
    """Skip the next run."""
    sub = _own(session, principal, subscription_id)
    service.skip_next(session, subscription_id, now=now, actor=principal.actor)
    return _next(sub)


@router.post("/{subscription_id}/undo-skip", dependencies=[scope("autoship:write")])
def undo_skip(subscription_id: Id, session: SessionDep, principal: PrincipalDep,
              now: NowDep, company_zone: CompanyZoneDep) -> NextRunOut:
    """Bring back the run the last skip moved away from (while it is still ahead)."""
    sub = _own(session, principal, subscription_id)
    service.undo_skip(session, subscription_id, now=now, actor=principal.actor,
                      company_zone=company_zone)
    return _next(sub)


@router.post("/{subscription_id}/pause", dependencies=[scope("autoship:write")])
def pause(subscription_id: Id, body: PauseIn, session: SessionDep, principal: PrincipalDep,
          now: NowDep, company_zone: CompanyZoneDep) -> NextRunOut:
    sub = _own(session, principal, subscription_id)
    service.pause_until(session, subscription_id, body.until, now=now, actor=principal.actor,
                        company_zone=company_zone)
    return _next(sub)


@router.post("/{subscription_id}/resume", dependencies=[scope("autoship:write")])
def resume(subscription_id: Id, session: SessionDep, principal: PrincipalDep,
           now: NowDep, company_zone: CompanyZoneDep) -> NextRunOut:
    """End a pause now, before its date."""
    sub = _own(session, principal, subscription_id)
    service.resume(session, subscription_id, now=now, actor=principal.actor,
                   company_zone=company_zone)
    return _next(sub)


@router.post("/{subscription_id}/change-date", dependencies=[scope("autoship:write")])
def change_date(subscription_id: Id, body: ChangeDateIn, session: SessionDep,
                principal: PrincipalDep, now: NowDep, company_zone: CompanyZoneDep) -> NextRunOut:
    sub = _own(session, principal, subscription_id)
    service.change_date(session, subscription_id, body.day_of_month, now=now,
                        actor=principal.actor, company_zone=company_zone)
    return _next(sub)


@router.post("/{subscription_id}/items", dependencies=[scope("autoship:write")])
def replace_items(subscription_id: Id, body: ItemsIn, session: SessionDep,
                  principal: PrincipalDep, now: NowDep) -> SubscriptionOut:
    """Replace all the items at once (one product at a time: swap, add, remove)."""
    sub = _own(session, principal, subscription_id)
    service.replace_items(session, subscription_id,
                          [service.Item(i.sku, i.quantity) for i in body.items],
                          now=now, actor=principal.actor)
    return _out(session, sub)


@router.post("/{subscription_id}/items/swap", dependencies=[scope("autoship:write")])
def swap_item(subscription_id: Id, body: SwapIn, session: SessionDep,
              principal: PrincipalDep, now: NowDep) -> SubscriptionOut:
    """Replace one product by another; the other products stay."""
    sub = _own(session, principal, subscription_id)
    service.swap_item(session, subscription_id, body.sku, body.new_sku, body.quantity,
                      now=now, actor=principal.actor)
    return _out(session, sub)


@router.post("/{subscription_id}/items/add", dependencies=[scope("autoship:write")])
def add_item(subscription_id: Id, body: ItemIn, session: SessionDep,
             principal: PrincipalDep, now: NowDep) -> SubscriptionOut:
    """Add a product."""
    sub = _own(session, principal, subscription_id)
    service.add_item(session, subscription_id, service.Item(body.sku, body.quantity), now=now,
                     actor=principal.actor)
    return _out(session, sub)


@router.delete("/{subscription_id}/items/{sku}", dependencies=[scope("autoship:write")])
def remove_item(subscription_id: Id, sku: Sku, session: SessionDep,
                principal: PrincipalDep, now: NowDep) -> SubscriptionOut:
    """Remove a product (not the last one: pause or cancel instead)."""
    sub = _own(session, principal, subscription_id)
    service.remove_item(session, subscription_id, sku, now=now, actor=principal.actor)
    return _out(session, sub)


@router.get("/{subscription_id}/save-offers", dependencies=[scope("autoship:read")])
def save_offers(subscription_id: Id, session: SessionDep,
                principal: PrincipalDep) -> list[str]:
    """What may be offered before a cancel; cancelling never waits on them."""
    _visible(session, principal, subscription_id)
    return service.save_offers(session, subscription_id)


@router.post("/{subscription_id}/cancel", dependencies=[scope("autoship:write")])
def cancel(subscription_id: Id, body: CancelIn, session: SessionDep, principal: PrincipalDep,
           now: NowDep) -> NextRunOut:
    """Cancel at once, in one step."""
    sub = _own(session, principal, subscription_id)
    service.cancel(session, subscription_id, body.reason, now=now, actor=principal.actor)
    return _next(sub)


@router.post("/{subscription_id}/restart", dependencies=[scope("autoship:write")])
def restart(subscription_id: Id, session: SessionDep, principal: PrincipalDep,
            now: NowDep, company_zone: CompanyZoneDep) -> NextRunOut:
    """Start a cancelled autoship again, with its products and schedule."""
    sub = _own(session, principal, subscription_id)
    service.restart(session, subscription_id, now=now, actor=principal.actor,
                    company_zone=company_zone)
    return _next(sub)
