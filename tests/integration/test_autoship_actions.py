"""Autoship: the customer's actions never leave a subscription silently wrong (service layer and
the daily run); on SQLite and PostgreSQL. The CLI, API and portal faces are in
test_autoship_faces.py."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import ChargeRequest, ChargeResult, SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import (
    Item,
    add_item,
    cancel,
    change_date,
    pause_until,
    remove_item,
    restart,
    resume,
    skip_next,
    subscribe,
    swap_item,
    undo_skip,
)
from patronage.db.autoship import (
    AutoshipEvent,
    ChargeAttempt,
    SimulatedCharge,
    Subscription,
    SubscriptionItem,
)
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order
from patronage.errors import Conflict, PatronageError
from patronage.orders.catalog import NewProduct, add_product
from tests.factories import catalog, customer, distributor

pytestmark = pytest.mark.storage

CREATED = datetime(2026, 11, 30, 15, tzinfo=UTC)


def _at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _one(engine: Engine, items: Sequence[Item] = (Item("TEA"), Item("SHAKE")), day: int = 2,
         start: date = date(2026, 12, 1), frequency: Frequency | None = None) -> int:
    with transaction(engine) as s:
        catalog(s)
        add_product(s, NewProduct("SERUM", "Night serum", 4000, 3000, 2500, 2000))
        c = customer(s, distributor(s), "Cara", kind="preferred", country="US")
        return subscribe(s, c, list(items), frequency or Frequency("monthly", day),
                         start=start, now=CREATED, actor="customer").id


def _lines(engine: Engine, sub: int) -> list[tuple[str, int]]:
    with transaction(engine) as s:
        return [(i.sku, i.quantity) for i in s.scalars(select(SubscriptionItem).where(
            SubscriptionItem.subscription_id == sub).order_by(SubscriptionItem.sku))]


def _sub(engine: Engine, sub: int) -> Subscription:
    with transaction(engine) as s:
        row = s.get(Subscription, sub)
        assert row is not None
        return row


def _events(engine: Engine, sub: int) -> list[tuple[str, str]]:
    with transaction(engine) as s:
        return [(e.kind, e.actor) for e in s.scalars(select(AutoshipEvent).where(
            AutoshipEvent.subscription_id == sub).order_by(AutoshipEvent.id))]


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


# 1. Swap one line; add and remove lines.

def test_swap_replaces_one_product_and_keeps_the_others(engine: Engine) -> None:
    sub = _one(engine, [Item("TEA", 1), Item("SHAKE", 2)])
    with transaction(engine) as s:
        swap_item(s, sub, "TEA", "SERUM", now=CREATED, actor="customer")
    assert _lines(engine, sub) == [("SERUM", 1), ("SHAKE", 2)]
    with transaction(engine) as s:
        swap_item(s, sub, "SHAKE", "SHAKE", 3, now=CREATED, actor="customer")
    assert _lines(engine, sub) == [("SERUM", 1), ("SHAKE", 3)]
    with pytest.raises(Conflict, match="'SHAKE' is already on autoship"), \
            transaction(engine) as s:
        swap_item(s, sub, "SERUM", "SHAKE", now=CREATED, actor="customer")
    with pytest.raises(PatronageError, match="swap: 'TEA' is not on autoship"), \
            transaction(engine) as s:
        swap_item(s, sub, "TEA", "SERUM", now=CREATED, actor="customer")
    with pytest.raises(PatronageError, match="enrollment pack"), transaction(engine) as s:
        swap_item(s, sub, "SERUM", "PACK", now=CREATED, actor="customer")
    assert _lines(engine, sub) == [("SERUM", 1), ("SHAKE", 3)]
    assert _events(engine, sub)[1:] == [("item_swapped", "customer")] * 2


def test_add_and_remove_a_line_but_never_the_last_one(engine: Engine) -> None:
    sub = _one(engine, [Item("TEA")])
    with transaction(engine) as s:
        add_item(s, sub, Item("SERUM", 2), now=CREATED, actor="customer")
    assert _lines(engine, sub) == [("SERUM", 2), ("TEA", 1)]
    with pytest.raises(Conflict, match="'TEA' is already on autoship"), \
            transaction(engine) as s:
        add_item(s, sub, Item("TEA"), now=CREATED, actor="customer")
    with transaction(engine) as s:
        remove_item(s, sub, "TEA", now=CREATED, actor="customer")
    with pytest.raises(Conflict, match=r"only product on autoship .*pause or cancel"), \
            transaction(engine) as s:
        remove_item(s, sub, "SERUM", now=CREATED, actor="customer")
    assert _lines(engine, sub) == [("SERUM", 2)]
    assert [k for k, _ in _events(engine, sub)] == ["created", "item_added", "item_removed"]


# 2. A date change keeps a skip and never brings two deliveries closer than the frequency.

def _delivered_on_dec_2(engine: Engine) -> int:
    sub = _one(engine)
    assert run_day(engine, date(2026, 12, 2), SimulatedGateway(engine, 0.0),
                   now=_at(date(2026, 12, 2), 13)).approved == 1
    assert _sub(engine, sub).next_run == date(2027, 1, 2)
    return sub


def test_a_skip_survives_a_date_change(engine: Engine) -> None:
    sub = _delivered_on_dec_2(engine)
    now = _at(date(2026, 12, 5))
    with transaction(engine) as s:
        assert skip_next(s, sub, now=now, actor="customer") == date(2027, 2, 2)
        assert change_date(s, sub, 15, now=now, actor="customer") == date(2027, 2, 15)
    assert _sub(engine, sub).next_run == date(2027, 2, 15)


def test_a_date_change_never_brings_a_delivery_closer_than_a_month(engine: Engine) -> None:
    sub = _delivered_on_dec_2(engine)
    now = _at(date(2026, 12, 5))
    with transaction(engine) as s:
        # January 1 would be 30 days after December 2: the first 1st after that is February 1.
        assert change_date(s, sub, 1, now=now, actor="customer") == date(2027, 2, 1)
        assert change_date(s, sub, 28, now=now, actor="customer") == date(2027, 2, 28)
    with transaction(engine) as s:
        s.execute(update(Subscription).where(Subscription.id == sub)
                  .values(next_run=date(2027, 1, 2)))
        assert change_date(s, sub, 28, now=now, actor="customer") == date(2027, 1, 28)


def test_a_date_change_in_the_month_of_the_next_run_never_lands_before_tomorrow(
        engine: Engine) -> None:
    sub = _one(engine, day=10, start=date(2026, 12, 1))  # no delivery yet; next run Dec 10
    with transaction(engine) as s:
        assert change_date(s, sub, 3, now=_at(date(2026, 12, 5)), actor="c") == date(2027, 1, 3)
        assert change_date(s, sub, 6, now=_at(date(2026, 12, 5)), actor="c") == date(2027, 1, 6)


# 3. No charge for cycles before the subscription; a run charges a subscription once a day.

def test_a_start_in_the_past_or_more_than_a_year_ahead_is_refused(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        c = customer(s, distributor(s), "Cara")
    for start, reason in ((date(1900, 1, 1), "start: 1900-01-01 is before today"),
                          (date(2026, 11, 29), "start: 2026-11-29 is before today"),
                          (date(2027, 12, 1), "start: 2027-12-01 is more than a year ahead")):
        with pytest.raises(PatronageError, match=reason), transaction(engine) as s:
            subscribe(s, c, [Item("TEA")], Frequency("monthly", 1), start=start, now=CREATED,
                      actor="customer")
    assert _count(engine, Subscription) == 0
    # Today is the company's day: 2026-12-01 01:00 UTC is still November 30 in Chicago.
    with transaction(engine) as s:
        sub = subscribe(s, c, [Item("TEA")], Frequency("weeks", weeks=2),
                        start=date(2026, 11, 30), now=datetime(2026, 12, 1, 1, tzinfo=UTC),
                        actor="customer")
        assert sub.next_run == date(2026, 11, 30)


@pytest.mark.parametrize("frequency, after", [
    (Frequency("monthly", 2), date(2027, 1, 2)),
    (Frequency("weeks", weeks=4), date(2026, 12, 14)),  # 1900-01-01 + k × 28 days
])
def test_an_overdue_subscription_is_charged_once_and_moves_past_the_run_day(
        engine: Engine, frequency: Frequency, after: date) -> None:
    sub = _one(engine, frequency=frequency)
    with transaction(engine) as s:  # as a start in the past used to be stored
        s.execute(update(Subscription).where(Subscription.id == sub)
                  .values(next_run=date(1900, 1, 1)))
    day = date(2026, 12, 2)
    gateway = SimulatedGateway(engine, 0.0)
    runs = [run_day(engine, day, gateway, now=_at(day, 13 + i)) for i in range(4)]
    assert [r.approved for r in runs] == [1, 0, 0, 0]
    assert _count(engine, Order) == 1 and _count(engine, SimulatedCharge) == 1
    assert _sub(engine, sub).next_run == after


def test_an_overdue_decline_is_retried_after_the_run_day_not_again_the_same_day(
        engine: Engine) -> None:
    sub = _one(engine)
    with transaction(engine) as s:
        s.execute(update(Subscription).where(Subscription.id == sub)
                  .values(next_run=date(1900, 1, 1)))
    day = date(2026, 12, 2)
    declining = SimulatedGateway(engine, 1.0)
    runs = [run_day(engine, day, declining, now=_at(day, 13 + i)) for i in range(3)]
    assert [r.declined for r in runs] == [1, 0, 0]
    assert _count(engine, SimulatedCharge) == 1
    assert _sub(engine, sub).retry_on == date(2026, 12, 3)


def test_while_a_payment_is_retried_the_schedule_stays_as_it_is(engine: Engine) -> None:
    sub = _one(engine)
    day = date(2026, 12, 2)
    run_day(engine, day, SimulatedGateway(engine, 1.0), now=_at(day, 13))
    now = _at(day, 16)
    for action in (lambda s: skip_next(s, sub, now=now, actor="customer"),
                   lambda s: undo_skip(s, sub, now=now, actor="customer"),
                   lambda s: pause_until(s, sub, date(2027, 2, 1), now=now, actor="customer"),
                   lambda s: change_date(s, sub, 20, now=now, actor="customer")):
        with pytest.raises(Conflict, match=r"the payment for the run of 2026-12-02 is being "
                                           r"retried \(next try 2026-12-03\)"), \
                transaction(engine) as s:
            action(s)
    row = _sub(engine, sub)
    assert (row.status, row.next_run, row.retry_on) == ("active", date(2026, 12, 2),
                                                        date(2026, 12, 3))
    with transaction(engine) as s:
        cancel(s, sub, "card expired", now=now, actor="customer")


# 4. Resume, restart and undo a skip: dated events with their actor.

def test_undo_a_skip_brings_the_run_back_while_it_is_ahead(engine: Engine) -> None:
    sub = _delivered_on_dec_2(engine)
    now = _at(date(2026, 12, 5))
    with pytest.raises(Conflict, match="undo skip: there is no skip to undo"), \
            transaction(engine) as s:
        undo_skip(s, sub, now=now, actor="customer")
    with transaction(engine) as s:
        assert skip_next(s, sub, now=now, actor="customer") == date(2027, 2, 2)
        assert undo_skip(s, sub, now=now, actor="customer") == date(2027, 1, 2)
    with transaction(engine) as s:
        skip_next(s, sub, now=now, actor="customer")
    with pytest.raises(Conflict, match="skipped run of 2027-01-02 is not after today"), \
            transaction(engine) as s:
        undo_skip(s, sub, now=_at(date(2027, 1, 2)), actor="customer")
    assert _sub(engine, sub).next_run == date(2027, 2, 2)
    with transaction(engine) as s:
        e = s.scalars(select(AutoshipEvent).where(AutoshipEvent.kind == "skip_undone")).one()
        assert (e.at, e.actor, e.detail) == (now, "customer", "next 2027-01-02")


def test_resume_ends_a_pause_and_keeps_the_planned_run(engine: Engine) -> None:
    sub = _delivered_on_dec_2(engine)
    with pytest.raises(Conflict, match="resume: the autoship is active, not paused"), \
            transaction(engine) as s:
        resume(s, sub, now=_at(date(2026, 12, 5)), actor="customer")
    with transaction(engine) as s:
        pause_until(s, sub, date(2027, 3, 1), now=_at(date(2026, 12, 5)), actor="customer")
    # Resumed on December 20: the January 2 run is kept (never earlier than planned).
    with transaction(engine) as s:
        assert resume(s, sub, now=_at(date(2026, 12, 20)), actor="customer") == date(2027, 1, 2)
    row = _sub(engine, sub)
    assert (row.status, row.paused_until) == ("active", None)
    with transaction(engine) as s:
        pause_until(s, sub, date(2027, 3, 1), now=_at(date(2026, 12, 20)), actor="customer")
        # Resumed on January 10, after the planned run: the next 2nd after today.
        assert resume(s, sub, now=_at(date(2027, 1, 10)), actor="agent") == date(2027, 2, 2)
    assert _events(engine, sub)[-1] == ("resumed", "agent")


def test_restart_after_cancel(engine: Engine) -> None:
    sub = _delivered_on_dec_2(engine)
    with pytest.raises(Conflict, match="restart: the autoship is active, not cancelled"), \
            transaction(engine) as s:
        restart(s, sub, now=_at(date(2026, 12, 5)), actor="customer")
    with transaction(engine) as s:
        cancel(s, sub, "budget", now=_at(date(2026, 12, 5)), actor="customer")
    with transaction(engine) as s:
        assert restart(s, sub, now=_at(date(2027, 3, 2)), actor="customer") == date(2027, 4, 2)
    row = _sub(engine, sub)
    assert (row.status, row.cancelled_at, row.cancel_reason, row.churn) == (
        "active", None, None, None)
    assert _events(engine, sub)[-2:] == [("cancelled", "customer"), ("restarted", "customer")]
    day = date(2027, 4, 2)
    assert run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day)).approved == 1
    with transaction(engine) as s:
        cancel(s, sub, "moving", now=_at(day), actor="customer")
        s.execute(update(Member).where(Member.id == s.get(Subscription, sub).member_id)
                  .values(status="terminated"))
    with pytest.raises(Conflict, match=r"restart: member \d+ can no longer order"), \
            transaction(engine) as s:
        restart(s, sub, now=_at(day), actor="customer")


# 5. Two runs of one day at once.

class _Held:
    """A gateway that waits, inside the run, until the test lets it go on."""

    def __init__(self, inner: SimulatedGateway) -> None:
        self.inner, self.inside, self.go = inner, threading.Event(), threading.Event()

    def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
        self.inside.set()
        assert self.go.wait(30)
        return self.inner.charge(key, member_id, amount, currency)

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        return [self.charge(r.key, r.member_id, r.amount, r.currency) for r in requests]


def test_a_second_run_of_the_day_while_the_first_works_is_refused_cleanly(
        engine: Engine) -> None:
    sub = _one(engine)
    day = date(2026, 12, 2)
    held = _Held(SimulatedGateway(engine, 0.0))
    first: list[object] = []
    worker = threading.Thread(target=lambda: first.append(
        run_day(engine, day, held, now=_at(day, 13))))
    worker.start()
    try:
        assert held.inside.wait(30)
        with pytest.raises(Conflict, match=f"autoship run of {day}: another run of this day is "
                                           "in progress"):
            run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day, 13))
    finally:
        held.go.set()
        worker.join(30)
    assert len(first) == 1
    again = run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day, 14))
    assert again.already_ran and again.due == 0
    assert _count(engine, Order) == 1 and _count(engine, SimulatedCharge) == 1
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ChargeAttempt).where(
            ChargeAttempt.subscription_id == sub)) == 1


def test_two_runs_started_together_charge_once_and_the_loser_says_why(engine: Engine) -> None:
    for i in range(3):
        _one_more(engine, i)
    day = date(2026, 12, 2)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def one() -> None:
        start.wait(30)
        try:
            outcomes.append(run_day(engine, day, SimulatedGateway(engine, 0.0),
                                    now=_at(day, 13)))
        except Exception as exc:  # what the loser gets is the point of the test
            outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2
    assert all(isinstance(e, Conflict) and "another run" in str(e) for e in errors), errors
    assert _count(engine, Order) == 3 and _count(engine, SimulatedCharge) == 3


def _one_more(engine: Engine, i: int) -> int:
    with transaction(engine) as s:
        if i == 0:
            catalog(s)
        c = customer(s, distributor(s, f"D{i}"), f"C{i}", kind="preferred", country="US")
        return subscribe(s, c, [Item("TEA")], Frequency("monthly", 2), start=date(2026, 12, 1),
                         now=CREATED, actor="customer").id


def test_a_run_that_died_lets_go_of_its_day(engine: Engine) -> None:
    _one(engine)
    day = date(2026, 12, 2)

    class Dies:
        def charge(self, key: str, member_id: int, amount: int, currency: str) -> ChargeResult:
            raise RuntimeError("gateway down")

    with pytest.raises(RuntimeError, match="gateway down"):
        run_day(engine, day, Dies(), now=_at(day, 13))
    assert run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day, 14)).approved == 1


def test_a_run_killed_without_letting_go_is_taken_over_after_the_lease(engine: Engine) -> None:
    from patronage.autoship.run import RUN_LEASE
    from patronage.db.autoship import AutoshipRun

    _one(engine)
    day = date(2026, 12, 2)
    with transaction(engine) as s:  # what a run killed outright leaves behind
        s.add(AutoshipRun(day=day, holder="killed", started_at=_at(day, 13)))
    with pytest.raises(Conflict, match="another run of this day is in progress"):
        run_day(engine, day, SimulatedGateway(engine, 0.0), now=_at(day, 13) + RUN_LEASE)
    later = _at(day, 13) + RUN_LEASE + timedelta(minutes=1)
    assert run_day(engine, day, SimulatedGateway(engine, 0.0), now=later).approved == 1
