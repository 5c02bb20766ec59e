"""The demo distributor's day: a few cards left for them to print (the demo's simulated outbox
sends every other card), and what Today, the team and money at risk show them.

The demo distributor is the one the demo signs in as (:func:`demo_distributor`): a leader
with a team to help and customers to care for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.compensation import CommissionRun, RankRecord
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order

ENGLISH = Member.locale.like("en%")
#: How many cards the demo leaves for the demo distributor to print.
DEMO_CARDS = 3
#: How deep the team the demo distributor helps goes (the team page's "who needs help").
TEAM_LEVELS = 3


def demo_distributor(session: Session) -> int | None:
    """The distributor with the most English-speaking customers on active autoship among those
    with a leader in their team (down to :data:`TEAM_LEVELS` levels): someone paid as a rank
    above the first in the last committed period. Before any period is committed, or when no
    such distributor has such a customer: the one with the most of those customers."""
    counts = (select(Member.owner_id, func.count().label("n"))
              .join(Subscription, Subscription.member_id == Member.id)
              .where(Subscription.status == "active", Member.owner_id.is_not(None),
                     Member.kind != "distributor", Member.status == "active", ENGLISH)
              .group_by(Member.owner_id))
    uplines = _leaders_uplines(session)
    for among in ([uplines] if uplines else []) + [None]:
        query = counts if among is None else counts.where(Member.owner_id.in_(among))
        row = session.execute(query.order_by(func.count().desc(), Member.owner_id)
                              .limit(1)).first()
        if row is not None and row[0] is not None:
            return int(row[0])
    return None


def _leaders_uplines(session: Session) -> list[int]:
    """The sponsors, up to :data:`TEAM_LEVELS` levels up, of the leaders of the last committed
    period."""
    run = session.scalar(select(CommissionRun.id).where(CommissionRun.calendar == "month")
                         .order_by(CommissionRun.period.desc())
                         .limit(1))
    if run is None:
        return []
    level = list(session.scalars(select(RankRecord.member_id).where(
        RankRecord.run_id == run, RankRecord.paid_as >= 1)))
    found: set[int] = set()
    for _ in range(TEAM_LEVELS):
        level = [int(i) for i in session.scalars(select(Member.sponsor_id).where(
            Member.id.in_(level), Member.sponsor_id.is_not(None))) if i is not None]
        found.update(level)
    return sorted(found)


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
