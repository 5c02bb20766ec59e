"""The demo distributor's day: a few cards left for them to print (the demo's simulated outbox
sends every other card), and what Today, the team and money at risk show them.

The demo distributor is the one the demo signs in as (:func:`demo_distributor`): the
distributor with the most English-speaking customers on active autoship.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order

ENGLISH = Member.locale.like("en%")
#: How many cards the demo leaves for the demo distributor to print.
DEMO_CARDS = 3


def demo_distributor(session: Session) -> int | None:
    """The distributor with the most English-speaking customers on active autoship."""
    row = session.execute(
        select(Member.owner_id, func.count())
        .join(Subscription, Subscription.member_id == Member.id)
        .where(Subscription.status == "active", Member.owner_id.is_not(None),
               Member.kind != "distributor", Member.status == "active", ENGLISH)
        .group_by(Member.owner_id).order_by(func.count().desc(), Member.owner_id)
        .limit(1)).first()
    return int(row[0]) if row is not None and row[0] is not None else None


def leave_cards(engine: Engine, now: datetime) -> int:
    """Plan a thank-you card, due today, for a few of the demo distributor's customers who
    ordered and have a postal address (once: a second run plans none); how many."""
    with transaction(engine) as s:
        owner = demo_distributor(s)
        if owner is None:
            return 0
        rows = s.execute(
            select(Member.id, func.max(Order.id))
            .join(Order, Order.buyer_id == Member.id)
            .where(Member.owner_id == owner, Member.kind != "distributor",
                   Member.status == "active", Member.address_line1.is_not(None),
                   Member.city.is_not(None), Order.status == "paid")
            .group_by(Member.id).order_by(func.max(Order.placed_at).desc(), Member.id)
            .limit(DEMO_CARDS)).all()
        made = 0
        for member_id, order_id in rows:
            exists = s.scalar(select(Touch.id).where(
                Touch.rule_key == "demo_thank_you_card", Touch.member_id == member_id,
                Touch.occasion_key == str(order_id)))
            if exists is None:
                s.add(Touch(member_id=member_id, owner_id=owner,
                            rule_key="demo_thank_you_card", occasion="order",
                            occasion_key=str(order_id), channel="card",
                            template="order_thanks", priority=20, status="planned",
                            due_at=now - timedelta(hours=1), created_at=now,
                            summary="A thank-you card to sign and send"))
                made += 1
        return made
