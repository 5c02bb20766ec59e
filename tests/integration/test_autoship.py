"""Autoship: the daily run, its idempotency after a crash, dunning, self-service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, update

import patronage.autoship.run as run_module
from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import ChargeRequest, ChargeResult, SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import (
    Item,
    cancel,
    change_date,
    pause_until,
    replace_items,
    save_offers,
    skip_next,
    subscribe,
)
from patronage.db.autoship import (
    AutoshipEvent,
    ChargeAttempt,
    SimulatedCharge,
    Subscription,
    SubscriptionItem,
)
from patronage.db.engine import transaction
from patronage.db.tables import Order, OrderLine
from patronage.errors import Conflict, IntegrityViolation
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import catalog, customer, distributor

NOW = datetime(2026, 3, 1, 8, tzinfo=UTC)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def _setup(engine: Engine, n: int = 3) -> list[int]:
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        ids = []
        for i in range(n):
            c = customer(s, d, f"C{i}", kind="preferred", country="US")
            ids.append(subscribe(s, c, [Item("SHAKE", 1)], Frequency("monthly", day=31),
                                 start=date(2026, 3, 1), now=NOW, actor="customer").id)
    return ids


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_daily_run_orders_due_subscriptions_once(engine: Engine) -> None:
    subs = _setup(engine)
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    day = date(2026, 3, 28)  # day 31 moves to the 28th in the US
    assert run_day(engine, day - timedelta(days=1), gateway, now=_at(day)).due == 0
    summary = run_day(engine, day, gateway, now=_at(day))
    assert (summary.due, summary.approved) == (3, 3)
    again = run_day(engine, day, gateway, now=_at(day))
    assert again.due == 0
    with transaction(engine) as s:
        orders = s.scalars(select(Order)).all()
        assert {o.source for o in orders} == {"autoship"}
        assert {o.subscription_id for o in orders} == set(subs)
        assert {line.volume_kind for line in s.scalars(select(OrderLine))} == {"consumption"}
        nexts = {sub.next_run for sub in s.scalars(select(Subscription))}
    assert nexts == {date(2026, 4, 28)}
    assert _count(engine, SimulatedCharge) == 3


class CrashAfter:
    """A gateway that charges, then dies before the run can record the answer."""

    def __init__(self, inner: SimulatedGateway, charges: int) -> None:
        self.inner, self.left = inner, charges

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        result = self.inner.charge(key, member_id, amount, currency)
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("killed mid-run")
        return result


def test_a_run_killed_mid_way_and_run_again_charges_and_orders_each_once(engine: Engine) -> None:
    _setup(engine, n=5)
    day = date(2026, 3, 28)
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        run_day(engine, day, CrashAfter(gateway, 2), now=_at(day), batch=2, workers=1)
    assert _count(engine, Order) == 2 and _count(engine, SimulatedCharge) == 3
    summary = run_day(engine, day, gateway, now=_at(day), batch=2)
    assert summary.approved == 3
    assert _count(engine, Order) == 5 and _count(engine, SimulatedCharge) == 5
    assert run_day(engine, day, gateway, now=_at(day)).due == 0


class BatchCrash:
    """A batch gateway that charges a whole batch, then dies before the answers come back."""

    def __init__(self, inner: SimulatedGateway) -> None:
        self.inner = inner

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        raise AssertionError("the run asks a batch gateway for batches")

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        self.inner.charge_many(requests)
        raise RuntimeError("killed after the gateway charged")


def _one_order_and_one_charge_per_subscription(engine: Engine, subs: list[int]) -> None:
    with transaction(engine) as s:
        ordered = [o.subscription_id for o in s.scalars(select(Order))]
        keys = [c.key for c in s.scalars(select(SimulatedCharge))]
        pending = s.scalar(select(func.count()).select_from(ChargeAttempt)
                           .where(ChargeAttempt.status == "pending"))
    assert sorted(ordered) == sorted(subs)
    assert sorted(keys) == sorted(f"autoship:{sub}:2026-03-28:1" for sub in subs)
    assert pending == 0


def test_a_run_killed_between_the_batch_charge_and_its_answers_is_finished_by_the_next(
        engine: Engine) -> None:
    subs = _setup(engine, n=5)
    day = date(2026, 3, 28)
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    with pytest.raises(RuntimeError, match="killed after the gateway charged"):
        run_day(engine, day, BatchCrash(gateway), now=_at(day))
    assert _count(engine, Order) == 0 and _count(engine, SimulatedCharge) == 5
    assert run_day(engine, day, gateway, now=_at(day)).approved == 5
    _one_order_and_one_charge_per_subscription(engine, subs)


def _die_on_the_second_events_write(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the run die when it records its second batch's events (after that batch's orders
    were written); returns the real writer, to put back."""
    real_write = run_module.write_rows
    calls = {"events": 0}

    def dying_write(conn: Connection, table: str, columns: Any, times: Any = ()) -> int:
        if table == "autoship_events":
            calls["events"] += 1
            if calls["events"] == 2:
                raise RuntimeError("killed while recording")
        return real_write(conn, table, columns, times)

    monkeypatch.setattr(run_module, "write_rows", dying_write)
    return real_write


def test_a_run_killed_while_recording_a_batch_keeps_earlier_batches_and_loses_nothing(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    subs = _setup(engine, n=5)
    day = date(2026, 3, 28)
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    real_write = _die_on_the_second_events_write(monkeypatch)
    with pytest.raises(RuntimeError, match="killed while recording"):
        run_day(engine, day, gateway, now=_at(day), batch=2, workers=1)
    assert _count(engine, Order) == 2  # the second batch's orders rolled back with it
    monkeypatch.setattr(run_module, "write_rows", real_write)
    assert run_day(engine, day, gateway, now=_at(day), batch=2).approved == 3
    _one_order_and_one_charge_per_subscription(engine, subs)


def test_batches_in_flight_at_once_charge_and_order_each_once_even_when_one_dies(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    subs = _setup(engine, n=7)
    day = date(2026, 3, 28)
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    real_write = _die_on_the_second_events_write(monkeypatch)
    with pytest.raises(RuntimeError, match="killed while recording"):
        run_day(engine, day, gateway, now=_at(day), batch=2, workers=2)
    assert _count(engine, Order) < 7
    monkeypatch.setattr(run_module, "write_rows", real_write)
    again = run_day(engine, day, gateway, now=_at(day), batch=2, workers=2)
    assert _count(engine, Order) == 7 and again.approved == again.due
    _one_order_and_one_charge_per_subscription(engine, subs)
    assert run_day(engine, day, gateway, now=_at(day), workers=2).due == 0


def test_bulk_orders_match_what_place_order_makes(engine: Engine) -> None:
    _setup(engine, n=2)
    day = date(2026, 3, 28)
    run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0), now=_at(day))
    with transaction(engine) as s:
        order = s.scalars(select(Order).order_by(Order.id)).first()
        assert order is not None
        auto_lines = [(ln.product_id, ln.quantity, ln.unit_price, ln.amount, ln.qv, ln.cv,
                       ln.retail_total, ln.wholesale_total, ln.volume_kind, ln.buyer_class)
                      for ln in s.scalars(select(OrderLine).where(OrderLine.order_id == order.id))]
        placed = place_order(s, NewOrder(order.buyer_id, _at(day), [LineRequest("SHAKE", 1)],
                                         source="autoship"), now=_at(day))
        by_hand = [(ln.product_id, ln.quantity, ln.unit_price, ln.amount, ln.qv, ln.cv,
                    ln.retail_total, ln.wholesale_total, ln.volume_kind, ln.buyer_class)
                   for ln in placed.lines]
        assert auto_lines == by_hand
        assert (order.total, order.credited_to_id, order.currency, order.placed_at) == (
            placed.order.total, placed.order.credited_to_id, placed.order.currency,
            placed.order.placed_at)


def test_dunning_retries_then_suspends_with_events(engine: Engine) -> None:
    [sub] = _setup(engine, n=1)
    declining = SimulatedGateway(engine, decline_rate=1.0)
    cycle = date(2026, 3, 28)
    for day in (cycle, cycle + timedelta(1), cycle + timedelta(3), cycle + timedelta(7)):
        run_day(engine, day, declining, now=_at(day))
    with transaction(engine) as s:
        row = s.get(Subscription, sub)
        assert row is not None and (row.status, row.churn) == ("suspended", "involuntary")
        kinds = [e.kind for e in s.scalars(select(AutoshipEvent).order_by(AutoshipEvent.id))]
    assert kinds.count("payment_failed") == 4 and kinds.count("retry_scheduled") == 3
    assert kinds[-1] == "suspended"
    assert _count(engine, Order) == 0


def test_a_retry_that_succeeds_recovers_the_payment(engine: Engine) -> None:
    [sub] = _setup(engine, n=1)
    cycle = date(2026, 3, 28)
    run_day(engine, cycle, SimulatedGateway(engine, decline_rate=1.0), now=_at(cycle))
    day = cycle + timedelta(days=1)
    summary = run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0), now=_at(day))
    assert summary.recovered == 1
    with transaction(engine) as s:
        row = s.get(Subscription, sub)
        assert row is not None and row.next_run == date(2026, 4, 28) and row.failures == 0


def test_self_service_actions_and_one_step_cancel(engine: Engine) -> None:
    [sub] = _setup(engine, n=1)
    with transaction(engine) as s:
        assert skip_next(s, sub, now=NOW, actor="customer") == date(2026, 4, 28)
        assert change_date(s, sub, 10, now=NOW, actor="customer") == date(2026, 4, 10)
        replace_items(s, sub, [Item("TEA", 2), Item("SHAKE", 1)], now=NOW, actor="customer")
        pause_until(s, sub, date(2026, 5, 15), now=NOW, actor="customer")
    day = date(2026, 5, 15)
    summary = run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day))
    assert summary.resumed == 1 and summary.due == 0
    with transaction(engine) as s:
        row = s.get(Subscription, sub)
        assert row is not None and (row.status, row.next_run) == ("active", date(2026, 6, 10))
        assert save_offers(s, sub)  # offered, never required
        cancel(s, sub, "moving abroad", now=NOW, actor="customer")
    with transaction(engine) as s:
        row = s.get(Subscription, sub)
        assert row is not None and (row.status, row.churn) == ("cancelled", "voluntary")
    with pytest.raises(Conflict, match="is cancelled"), transaction(engine) as s:
        skip_next(s, sub, now=NOW, actor="customer")
    with pytest.raises(IntegrityViolation, match="unknown sku 'NOPE'"), transaction(engine) as s:
        subscribe(s, 1, [Item("NOPE")], Frequency("monthly", 1), start=date(2026, 3, 1),
                  now=NOW, actor="x")


def test_a_batch_is_settled_whole_whatever_order_the_database_returns_rows_in(
        engine: Engine) -> None:
    subs = _setup(engine, n=6)
    with engine.begin() as conn:  # rewritten rows move to the end of PostgreSQL's heap
        conn.execute(update(Subscription).where(Subscription.id.in_(subs[:3]))
                     .values(failures=Subscription.failures))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE subscriptions")
            conn.exec_driver_sql("ANALYZE members")
    day = date(2026, 3, 28)
    summary = run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0), now=_at(day),
                      batch=6)
    assert summary.approved == 6
    _one_order_and_one_charge_per_subscription(engine, subs)


def test_a_batch_of_mixed_schedules_moves_each_by_its_own_rule(engine: Engine) -> None:
    """Frequencies, days and markets are read as numbers and decoded per distinct schedule."""
    from patronage.markets.markets import NewMarket, add_market, place_in_market
    from patronage.markets.prices import MarketPrice, set_price
    from patronage.orders.catalog import product_by_sku

    start = date(2026, 3, 1)
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        for code, currency in (("MX", "MXN"), ("DE", "EUR")):  # markets that run any day
            market = add_market(s, NewMarket(code, code, currency))
            for sku, retail, wholesale in (("SHAKE", 6000, 4500), ("TEA", 2500, 2000)):
                set_price(s, product_by_sku(s, sku), market,
                          MarketPrice(retail, wholesale, 1000, 1000))
        shapes = [("US", Frequency("monthly", day=31)), ("MX", Frequency("monthly", day=31)),
                  ("DE", Frequency("monthly", day=31)), ("US", Frequency("weeks", weeks=2))]
        subs = []
        for i, (market_code, frequency) in enumerate(shapes):
            c = customer(s, d, f"C{i}", kind="preferred")
            place_in_market(s, c, market_code)
            subs.append(subscribe(s, c, [Item("SHAKE", 1), Item("TEA", 2)], frequency,
                                  start=start, now=NOW, actor="customer").id)
        s.execute(update(Subscription).values(next_run=date(2026, 3, 28)))
    day = date(2026, 3, 28)
    summary = run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0), now=_at(day))
    assert (summary.due, summary.approved) == (4, 4)
    with transaction(engine) as s:
        nexts = {sub.id: sub.next_run for sub in s.scalars(select(Subscription))}
        totals = {o.subscription_id: o.total for o in s.scalars(select(Order))}
    # After the 28th: the US market caps day 31 at the 28th, the others run on the month's
    # last day.
    assert [nexts[i] for i in subs] == [date(2026, 4, 28), date(2026, 3, 31),
                                         date(2026, 3, 31), date(2026, 4, 11)]
    assert set(totals.values()) == {4500 + 2 * 2000}  # wholesale: preferred customers


def test_an_item_whose_sku_left_the_catalogue_stops_the_run_before_any_charge(
        engine: Engine) -> None:
    subs = _setup(engine, n=2)
    with transaction(engine) as s:
        s.execute(update(SubscriptionItem).where(SubscriptionItem.subscription_id == subs[1])
                  .values(sku="GONE"))
    day = date(2026, 3, 28)
    with pytest.raises(IntegrityViolation, match=f"subscription {subs[1]}: .*SKU"):
        run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0), now=_at(day))
    assert _count(engine, SimulatedCharge) == 0
    assert _count(engine, Order) == 0
