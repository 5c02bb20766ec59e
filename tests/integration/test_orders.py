"""Orders: pricing, classification, idempotency and refunds, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from threading import Thread

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from patronage.db.engine import transaction
from patronage.db.tables import Order, OrderLine, Refund
from patronage.errors import Conflict, IntegrityViolation
from patronage.orders import orders as orders_module
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from tests.factories import T0, catalog, customer, distributor


def _setup(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        c = customer(s, d)
    return d, c


def test_customer_order_is_consumption_priced_retail_and_credited_to_owner(engine: Engine) -> None:
    d, c = _setup(engine)
    with transaction(engine) as s:
        placed = place_order(s, NewOrder(c, T0, [LineRequest("SHAKE", 2)]), now=T0)
    line = placed.lines[0]
    assert (line.unit_price, line.amount, line.qv, line.cv) == (6000, 12000, 8000, 7200)
    assert (line.volume_kind, line.buyer_class) == ("consumption", "customer")
    assert placed.order.credited_to_id == d


def test_enrollment_pack_is_promotional_volume(engine: Engine) -> None:
    d, _ = _setup(engine)
    with transaction(engine) as s:
        placed = place_order(s, NewOrder(d, T0, [LineRequest("PACK")], source="enrollment"), now=T0)
    assert placed.lines[0].volume_kind == "promotional"
    assert placed.lines[0].buyer_class == "distributor"
    assert placed.lines[0].unit_price == 15000


def test_repeated_idempotency_key_returns_the_original_order(engine: Engine) -> None:
    _, c = _setup(engine)
    req = NewOrder(c, T0, [LineRequest("TEA", 3)], idempotency_key="shop-42")
    with transaction(engine) as s:
        first = place_order(s, req, now=T0)
    with transaction(engine) as s:
        again = place_order(s, req, now=T0)
        count = s.scalar(select(func.count()).select_from(Order))
    assert again.order.id == first.order.id and not again.created
    assert count == 1


def test_same_key_for_a_different_order_is_refused(engine: Engine) -> None:
    _, c = _setup(engine)
    with transaction(engine) as s:
        place_order(s, NewOrder(c, T0, [LineRequest("TEA", 3)], idempotency_key="k"), now=T0)
    with pytest.raises(Conflict, match="different order"), transaction(engine) as s:
        place_order(s, NewOrder(c, T0, [LineRequest("TEA", 4)], idempotency_key="k"), now=T0)


def test_unknown_sku_is_refused_and_nothing_written(engine: Engine) -> None:
    _, c = _setup(engine)
    with pytest.raises(IntegrityViolation, match="line 2: unknown sku 'NOPE'"), \
            transaction(engine) as s:
        place_order(s, NewOrder(c, T0, [LineRequest("TEA"), LineRequest("NOPE")]), now=T0)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 0


def test_refunds_never_exceed_what_was_paid(engine: Engine) -> None:
    _, c = _setup(engine)
    with transaction(engine) as s:
        placed = place_order(s, NewOrder(c, T0, [LineRequest("SHAKE", 3)]), now=T0)
    line_id = placed.lines[0].id
    later = T0 + timedelta(days=3)
    with transaction(engine) as s:
        r1 = refund_order(s, RefundRequest(placed.order.id, later, "damaged", {line_id: 1}),
                          now=later)
    assert (r1.total, r1.order_id) == (6000, placed.order.id)
    with pytest.raises(IntegrityViolation, match="only 2 of 3 remain"), transaction(engine) as s:
        refund_order(s, RefundRequest(placed.order.id, later, "again", {line_id: 3}), now=later)
    with transaction(engine) as s:
        rest = refund_order(s, RefundRequest(placed.order.id, later, "rest"), now=later)
        total = s.scalar(select(func.sum(Refund.total)))
    assert rest.total == 12000 and total == 18000


def test_an_order_stored_meanwhile_under_the_key_is_returned_and_the_transaction_goes_on(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is free when the second writer looks, but the first writer's order is stored
    (and committed) before the second one inserts: the second gets the first's order back,
    writes nothing, and its transaction is still usable (no savepoint was needed)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the race cannot happen there")
    _, c = _setup(engine)
    req = NewOrder(c, T0, [LineRequest("TEA", 3)], idempotency_key="raced")
    real_lookups = orders_module._lookups
    stored: dict[str, int] = {}
    writing: list[bool] = []

    def lookups_then_first_writer_commits(session: Session, new: NewOrder) -> object:
        found = real_lookups(session, new)  # sees no order under the key yet
        if writing:  # the first writer's own lookups: no third writer
            return found
        writing.append(True)

        def first_writer() -> None:
            with transaction(engine) as other:
                stored["id"] = place_order(other, new, now=T0).order.id

        writer = Thread(target=first_writer)
        writer.start()
        writer.join()
        return found

    monkeypatch.setattr(orders_module, "_lookups", lookups_then_first_writer_commits)
    with transaction(engine) as s:
        second = place_order(s, req, now=T0)
        assert second.order.id == stored["id"] and not second.created
        assert [line.quantity for line in second.lines] == [3]
        count = s.scalar(select(func.count()).select_from(Order))
    assert count == 1
