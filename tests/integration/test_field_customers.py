"""My customers' filters (at risk, autoship, birthday this month, no touch in N days, close to
"3 for free") and the customer page's seven values and next touch, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.web.views.customers import customer_list
from tests import factories as f
from tests.e2e.world import NOW, seed
from tests.integration.test_field_today import _value

pytestmark = pytest.mark.storage


def _names(engine: Engine, owner: int, show: str, **kw: object) -> list[str]:
    with transaction(engine) as s:
        page = customer_list(s, owner, show=show, now=NOW, order="name",
                             **kw)  # type: ignore[arg-type]
        return [r.name for r in page.rows]


def test_filters_pick_the_right_customers(engine: Engine) -> None:
    w = seed(engine)
    with transaction(engine) as s:
        # Cleo referred three friends: two ordered this month (close to 3 for free)
        friends = [f.customer(s, w.ann, n, referrer_id=w.cleo, joined_at=NOW - timedelta(
            days=40)) for n in ("Fay", "Gus", "Hal")]
        for i, friend in enumerate(friends[:2]):
            place_order(s, NewOrder(friend, datetime(2026, 10, 5 + i, tzinfo=UTC),
                                    [LineRequest("TEA", 1)], idempotency_key=f"fr-{i}"),
                        now=NOW)
        _value(s, w.cleo, w.ann, 12_000)
        s.add(Touch(member_id=w.cory, owner_id=w.ann, rule_key="r", occasion="order",
                    occasion_key="1", channel="task", template="order_thanks", status="done",
                    due_at=NOW - timedelta(days=3), done_at=NOW - timedelta(days=3),
                    created_at=NOW - timedelta(days=4)))
    assert _names(engine, w.ann, "autoship") == ["Cory"]
    assert _names(engine, w.ann, "birthday") == ["Cory"]  # born 10/20, now October
    assert _names(engine, w.ann, "at_risk") == ["Cleo"]
    assert _names(engine, w.ann, "quiet", quiet_days=30) == ["Cleo", "Fay", "Gus", "Hal"]
    assert "Cory" in _names(engine, w.ann, "quiet", quiet_days=2)
    assert _names(engine, w.ann, "free") == ["Cleo"]
    with transaction(engine) as s:
        rows = {r.name: r for r in customer_list(s, w.ann, show="free", now=NOW).rows}
    assert rows["Cleo"].friends_ordering == 2
    assert rows["Cleo"].value_at_risk == 12_000
    assert _names(engine, w.zed, "free") == []  # someone else's customers never show
    with transaction(engine) as s, pytest.raises(PatronageError, match="show: 'x' is not"):
        customer_list(s, w.ann, show="x", now=NOW)
