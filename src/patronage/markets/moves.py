"""Moving a member to another market, with their open autoship subscriptions.

A member who moves country buys in the new market from then on: their future orders are priced
and paid in its currency. Their open subscriptions (active, paused or suspended) move with them:
each keeps its items and schedule and is charged at the new market's prices, in its currency,
from its next run. A product of one of those subscriptions without a price in the new market
refuses the whole move, naming the subscription and the product, before anything is written.
Past orders keep the currency they were paid in. The move is audited (who, when, from which
market to which, the subscriptions moved). Moving a member to the market they are in changes
nothing and is not audited again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.tables import Member, Product
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.markets.markets import market_by_code, market_of
from patronage.markets.prices import prices_in

OPEN = ("active", "paused", "suspended")


@dataclass
class MarketMove:
    member_id: int
    old: str
    new: str
    currency: str
    subscriptions: list[int] = field(default_factory=list)
    changed: bool = True


def member_by_ref(session: Session, ref: str) -> Member:
    """A member by their ref, or by ``#id``."""
    if ref.startswith("#") and ref[1:].isdigit():
        member = session.get(Member, int(ref[1:]))
    else:
        member = session.scalar(select(Member).where(Member.ref == ref))
    if member is None:
        raise NotFound(f"member {ref!r} does not exist (give the ref, or #id)")
    return member


def move_market(session: Session, member_id: int, code: str, *, actor: str,
                now: datetime) -> MarketMove:
    """Move the member and their open subscriptions to market ``code`` (see the module)."""
    require_aware(now, place="now")
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    if member.status == "erased":
        raise Conflict(f"move market: member {member_id} is erased")
    old = market_of(session, member)
    new = market_by_code(session, code)
    if new.id == old.id:
        return MarketMove(member_id, old.code, new.code, new.currency, changed=False)
    subs = list(session.scalars(select(Subscription).where(
        Subscription.member_id == member_id, Subscription.status.in_(OPEN))
        .order_by(Subscription.id)))
    items = session.execute(
        select(SubscriptionItem.subscription_id, SubscriptionItem.sku, Product.id)
        .outerjoin(Product, Product.sku == SubscriptionItem.sku)
        .where(SubscriptionItem.subscription_id.in_([s.id for s in subs]))
        .order_by(SubscriptionItem.subscription_id, SubscriptionItem.id)).all() if subs else []
    priced = prices_in(session, new.id, [p for _, _, p in items if p is not None])
    missing = [f"subscription {sub}: product {sku!r} has no price in market {new.code}"
               for sub, sku, product in items if product is None or product not in priced]
    if missing:
        raise PatronageError(f"move member {member_id} to {new.code}: " + "; ".join(missing))
    member.market_id = None if new.is_default else new.id
    for sub in subs:
        sub.market = new.code
    session.flush()
    moved = [s.id for s in subs]
    audit.record(session, actor=actor, action="member.move_market", target=f"member {member_id}",
                 detail=(f"market {old.code} ({old.currency}) -> {new.code} ({new.currency}); "
                         f"subscriptions moved: {', '.join(map(str, moved)) or 'none'}"), at=now)
    return MarketMove(member_id, old.code, new.code, new.currency, moved)
