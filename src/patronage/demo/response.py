"""The demo's customers respond to attention, with a stated, modest effect.

After the month of care, each customer who got a personal touch (a card or email sent, a call
done) in the holdout report's window, and who had not ordered in that window and is not on
autoship, orders once more, a few days after the touch (or in the open commission period, if
the touch was in a committed one), with probability :data:`RESPONSE` (a draw seeded by the
demo's seed). Customers in the holdout get no touches, so they never respond: the demo's
holdout report then shows the lift this makes, with its interval, instead of a difference of
chance. The effect is the generator's statement, not a finding: a real company measures its
own.

The effect is modest: about 57% of the treated customers compared are touched while lapsed,
so :data:`RESPONSE` of 19% plants a lift of about 11 points of retention. It is as small as
the demo's size allows while staying significant from one build to the next: the holdout is
the rules' 5% (about 150 of some 3,000 customers), whose standard error is about 4 points, so
a smaller effect is significant in some builds and not in others (see docs/care-rules.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, exists, select

from patronage.db.autoship import Subscription
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order, Product
from patronage.orders.orders import LineRequest, NewOrder, place_order

#: The chance that a touched customer who had stopped ordering orders once more.
RESPONSE = 0.19
#: The holdout report's window (days).
WINDOW_DAYS = 90


def respond_to_attention(engine: Engine, now: datetime, *, seed: int,
                         not_before: datetime) -> int:
    """Place the orders of the customers who respond (see the module), dated from
    ``not_before`` on (the open commission period: earlier ones are committed); how many
    (once: a second run finds them retained)."""
    start = now - timedelta(days=WINDOW_DAYS)
    rng = np.random.default_rng(seed + 23)
    with transaction(engine) as s:
        sku = s.scalar(select(Product.sku).where(Product.active.is_(True),
                                                 Product.is_enrollment_pack.is_(False))
                       .order_by(Product.id).limit(1))
        if sku is None:
            return 0
        ordered = exists().where(Order.buyer_id == Member.id, Order.status == "paid",
                                 Order.placed_at >= start, Order.placed_at < now)
        on_autoship = exists().where(Subscription.member_id == Member.id,
                                     Subscription.status == "active")
        touched = list(s.execute(
            select(Touch.member_id, Touch.due_at).join(Member, Member.id == Touch.member_id)
            .where(Touch.status.in_(("sent", "done")), Touch.due_at >= start,
                   Touch.due_at < now - timedelta(days=2), Member.kind != "distributor",
                   Member.status == "active", ~ordered, ~on_autoship)
            .order_by(Touch.member_id, Touch.due_at)).tuples())
        first: dict[int, datetime] = {}
        for member_id, due in touched:
            first.setdefault(member_id, due)
        placed = 0
        for member_id, due in first.items():
            if rng.random() >= RESPONSE:
                continue
            at = min(max(due + timedelta(days=int(rng.integers(1, 6))), not_before),
                     now - timedelta(hours=1))
            if at < not_before:
                continue
            place_order(s, NewOrder(member_id, at, [LineRequest(sku)],
                                    idempotency_key=f"demo-response-{member_id}"), now=now)
            placed += 1
    return placed
