"""The daily autoship run: due subscriptions are charged and ordered, failures dunned.

The run works in batches of due subscriptions (read, written and charged in bulk). Crash safety,
per subscription and cycle:
1. the batch's attempts are recorded as ``pending`` under the unique (subscription, cycle,
   attempt) key and committed before the gateway is asked;
2. the gateway is asked with the keys ``autoship:<subscription>:<cycle>:<attempt>`` (idempotent
   by contract: the same key never moves money twice);
3. the answers are recorded, and approved charges ordered under the unique idempotency key
   ``autoship:<subscription>:<cycle>``, in one transaction for the whole batch; only attempts
   still pending are settled, so a second run at the same time settles nothing twice.
A run killed anywhere and run again finds the pending attempts, gets the same answers from the
gateway, and finishes: no subscription is charged or ordered twice for the same cycle.

Dunning: a declined charge is retried ``retry_days`` after the cycle's date (e.g. +1, +3, +7);
after the last failure the subscription is suspended (involuntary churn).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import Connection, Engine, select

from patronage.autoship.gateway import ChargeRequest, ChargeResult, PaymentGateway, charge_all
from patronage.autoship.schedule import Frequency, first_run, next_run
from patronage.autoship.subscriptions import frequency_of, record
from patronage.clock import require_aware
from patronage.db.autoship import Subscription
from patronage.db.bulk import (
    allocate_ids,
    fetch_rows,
    insert_ignore,
    time_text,
    update_rows,
    write_rows,
)
from patronage.db.engine import transaction
from patronage.db.tables import Product

RETRY_DAYS = (1, 3, 7)
BATCH = 50_000
CURRENCY = "USD"


@dataclass
class RunSummary:
    day: date
    due: int = 0
    approved: int = 0
    declined: int = 0
    suspended: int = 0
    resumed: int = 0
    recovered: int = 0
    ordered: list[int] = field(default_factory=list)  # subscriptions ordered in this run


def _resume_paused(engine: Engine, day: date, now: datetime, summary: RunSummary) -> None:
    with transaction(engine) as s:
        for sub in s.scalars(select(Subscription).where(
                Subscription.status == "paused", Subscription.paused_until <= day)):
            assert sub.paused_until is not None
            sub.status = "active"
            sub.next_run = first_run(sub.paused_until, frequency_of(sub), sub.market)
            sub.paused_until = None
            record(s, sub, "resumed", now, "autoship", f"next run {sub.next_run}")
            summary.resumed += 1


def due_subscriptions(engine: Engine, day: date) -> list[int]:
    """Active subscriptions whose run or retry is due on or before ``day``, in id order (read
    straight from the driver: a busy day has a million of them)."""
    with engine.connect() as conn:
        return [sub for (sub,) in fetch_rows(conn, _DUE_IDS_SQL, {"day": day.isoformat()})]


@dataclass
class _Charge:
    """One due subscription's charge in this run, from the batch read."""

    sub: int
    member: int
    cycle: date
    cycle_text: str  # the cycle's ISO date, as keys spell it
    attempt: int
    frequency: Frequency
    market: str | None
    buyer_kind: str
    credited_to: int | None
    amount: int = 0
    lines: list[tuple[int, int, int, int, int, int, int, bool]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"autoship:{self.sub}:{self.cycle_text}:{self.attempt}"


_DUE_IDS_SQL = """
    SELECT s.id FROM subscriptions s
    WHERE s.status = 'active'
      AND ((s.retry_on IS NULL AND s.next_run <= :day) OR s.retry_on <= :day)
    ORDER BY s.id"""
_DUE_SQL = """
    SELECT s.id, s.member_id, s.next_run, s.failures, s.frequency, s.day_of_month,
           s.every_weeks, s.market, m.kind, m.owner_id, m.status
    FROM subscriptions s JOIN members m ON m.id = s.member_id
    WHERE s.id BETWEEN :lo AND :hi AND s.status = 'active'
      AND ((s.retry_on IS NULL AND s.next_run <= :day) OR s.retry_on <= :day)
    ORDER BY s.id"""
_ITEMS_SQL = """
    SELECT i.subscription_id, i.sku, i.quantity FROM subscription_items i
    WHERE i.subscription_id BETWEEN :lo AND :hi ORDER BY i.subscription_id, i.id"""


def _read_batch(conn: Connection, day: date, lo: int, hi: int) -> list[_Charge]:
    """The due subscriptions with ids in [lo, hi], priced: retail customers pay the retail
    price, everyone else the wholesale price (as :func:`place_order` prices them). Read as
    plain rows (dates and frequencies parsed once per distinct value): this is the hot path."""
    products = {sku: row for sku, *row in conn.execute(select(
        Product.sku, Product.id, Product.retail_price, Product.wholesale_price, Product.qv,
        Product.cv, Product.is_enrollment_pack))}
    dates: dict[object, date] = {}
    texts: dict[date, str] = {}
    frequencies: dict[tuple[str, int, int], Frequency] = {}
    charges: dict[int, _Charge] = {}
    for (sub, member, cycle, failures, kind, dom, weeks, market, buyer_kind, owner,
         status) in fetch_rows(conn, _DUE_SQL, {"lo": lo, "hi": hi, "day": day.isoformat()}):
        if status in ("terminated", "erased"):
            continue  # such a member cannot order
        when = dates.get(cycle)
        if when is None:
            when = dates[cycle] = cycle if isinstance(cycle, date) else date.fromisoformat(cycle)
            texts[when] = when.isoformat()
        frequency = frequencies.get((kind, dom, weeks))
        if frequency is None:
            frequency = frequencies[(kind, dom, weeks)] = Frequency(kind, dom, weeks)
        charges[sub] = _Charge(sub, member, when, texts[when], failures + 1, frequency, market,
                               buyer_kind,
                               member if buyer_kind == "distributor" else owner)
    for sub, sku, quantity in fetch_rows(conn, _ITEMS_SQL, {"lo": lo, "hi": hi}):
        charge = charges.get(sub)
        if charge is None:
            continue
        product, retail, wholesale, qv, cv, pack = products[sku]
        unit = retail if charge.buyer_kind == "retail" else wholesale
        charge.lines.append((product, quantity, unit, qv, cv, retail, wholesale, bool(pack)))
        charge.amount += unit * quantity
    return [c for c in charges.values() if c.lines]


def _record_pending(engine: Engine, charges: list[_Charge], now: datetime) -> list[_Charge]:
    """Step 1: every attempt written as pending (kept if already there) and committed before
    the gateway is asked; returns the charges whose attempt is still pending."""
    with engine.begin() as conn:
        dialect = conn.dialect.name
        insert_ignore(conn, "autoship_attempts", {
            "subscription_id": [c.sub for c in charges],
            "cycle": [c.cycle_text for c in charges],
            "attempt": [c.attempt for c in charges],
            "status": ["pending"] * len(charges),
            "amount": [c.amount for c in charges],
            "at": [time_text(now, dialect)] * len(charges),
        })
    return _still_pending(engine, charges)


def _still_pending(engine: Engine, charges: list[_Charge]) -> list[_Charge]:
    if not charges:
        return []
    with engine.connect() as conn:
        pending = _pending_attempts(conn, charges)
    return [c for c in charges if (c.sub, c.cycle_text, c.attempt) in pending]


def _pending_attempts(conn: Connection, charges: list[_Charge]) -> dict[tuple[int, str, int], int]:
    """Attempt ids by (subscription, ISO cycle date, attempt), of the pending attempts of the
    charges' subscription id range."""
    return {(sub, cycle if isinstance(cycle, str) else cycle.isoformat(), attempt): attempt_id
            for attempt_id, sub, cycle, attempt in fetch_rows(
                conn, "SELECT id, subscription_id, cycle, attempt FROM autoship_attempts "
                      "WHERE subscription_id BETWEEN :lo AND :hi AND status = 'pending'",
                {"lo": min(c.sub for c in charges), "hi": max(c.sub for c in charges)})}


def _settle(engine: Engine, charges: list[_Charge], results: list[ChargeResult], now: datetime,
            retry_days: tuple[int, ...], summary: RunSummary) -> None:
    """Step 3, in one transaction: the answers recorded, approved charges ordered (the order
    rows as :func:`place_order` makes them), declines dunned, subscriptions moved on, events."""
    with engine.begin() as conn:
        at = time_text(now, conn.dialect.name)
        attempts = _pending_attempts(conn, charges)
        settled = [(c, r, attempts[(c.sub, c.cycle_text, c.attempt)])
                   for c, r in zip(charges, results, strict=True)
                   if (c.sub, c.cycle_text, c.attempt) in attempts]
        approved = [c for c, r, _ in settled if r.approved]
        order_ids = allocate_ids(conn, "orders", len(approved))
        order_of = {c.sub: order_id for c, order_id in zip(approved, order_ids, strict=True)}
        write_rows(conn, "orders", _order_rows(approved, order_ids, at))
        write_rows(conn, "order_lines", _line_rows(approved, order_ids))
        update_rows(conn, "autoship_attempts", {
            "id": [attempt_id for _, _, attempt_id in settled],
            "status": ["approved" if r.approved else "declined" for _, r, _ in settled],
            "decline": [r.decline for _, r, _ in settled],
            "order_id": [order_of.get(c.sub) for c, _, _ in settled]})
        moves: dict[str, list[Any]] = {name: [] for name in (
            "id", "status", "next_run", "retry_on", "failures", "churn")}
        events: dict[str, list[Any]] = {name: [] for name in (
            "subscription_id", "member_id", "kind", "detail")}

        def event(c: _Charge, kind: str, detail: str) -> None:
            events["subscription_id"].append(c.sub)
            events["member_id"].append(c.member)
            events["kind"].append(kind)
            events["detail"].append(detail)

        def move(c: _Charge, status: str, next_on: str, retry: date | None, failures: int,
                 churn: str | None) -> None:
            moves["id"].append(c.sub)
            moves["status"].append(status)
            moves["next_run"].append(next_on)
            moves["retry_on"].append(retry.isoformat() if retry else None)
            moves["failures"].append(failures)
            moves["churn"].append(churn)

        next_dates: dict[tuple[date, Frequency, str | None], str] = {}
        for c, r, _ in settled:
            if r.approved:
                if c.attempt > 1:
                    event(c, "payment_recovered", f"cycle {c.cycle}, attempt {c.attempt}")
                    summary.recovered += 1
                slot = (c.cycle, c.frequency, c.market)
                if slot not in next_dates:
                    next_dates[slot] = next_run(c.cycle, c.frequency, c.market).isoformat()
                move(c, "active", next_dates[slot], None, 0, None)
                continue
            event(c, "payment_failed", f"cycle {c.cycle}, attempt {c.attempt}: {r.decline}")
            if c.attempt <= len(retry_days):
                retry = c.cycle + timedelta(days=retry_days[c.attempt - 1])
                event(c, "retry_scheduled", f"retry on {retry}")
                move(c, "active", c.cycle_text, retry, c.attempt, None)
            else:
                event(c, "suspended",
                      f"involuntary: {c.attempt} failed charges for cycle {c.cycle}")
                move(c, "suspended", c.cycle_text, None, c.attempt, "involuntary")
                summary.suspended += 1
        update_rows(conn, "subscriptions", moves)
        k = len(events["kind"])
        write_rows(conn, "autoship_events", {**events, "at": [at] * k,
                                             "actor": ["autoship"] * k})
    summary.approved += len(approved)
    summary.declined += len(settled) - len(approved)
    summary.ordered.extend(c.sub for c in approved)


def _order_rows(approved: list[_Charge], ids: list[int], at: str) -> dict[str, list[Any]]:
    n = len(approved)
    return {"id": ids, "buyer_id": [c.member for c in approved],
            "credited_to_id": [c.credited_to for c in approved],
            "total": [c.amount for c in approved],
            "idempotency_key": [f"autoship:{c.sub}:{c.cycle_text}" for c in approved],
            "subscription_id": [c.sub for c in approved], "placed_at": [at] * n,
            "currency": [CURRENCY] * n, "source": ["autoship"] * n, "status": ["paid"] * n}


def _line_rows(approved: list[_Charge], ids: list[int]) -> dict[str, list[Any]]:
    """Order lines priced and classified as :func:`place_order` does."""
    rows = [(order_id, product, quantity, unit, unit * quantity, qv * quantity, cv * quantity,
             retail * quantity, wholesale * quantity,
             "promotional" if pack else "consumption",
             "distributor" if c.buyer_kind == "distributor" else "customer")
            for c, order_id in zip(approved, ids, strict=True)
            for product, quantity, unit, qv, cv, retail, wholesale, pack in c.lines]
    names = ("order_id", "product_id", "quantity", "unit_price", "amount", "qv", "cv",
             "retail_total", "wholesale_total", "volume_kind", "buyer_class")
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {name: list(column) for name, column in zip(names, columns, strict=True)}


def run_day(engine: Engine, day: date, gateway: PaymentGateway, *, now: datetime,
            retry_days: tuple[int, ...] = RETRY_DAYS, batch: int = BATCH,
            workers: int | None = None) -> RunSummary:
    """Charge and order every subscription due on ``day``; idempotent, safe to re-run.

    Due subscriptions are taken ``batch`` at a time, in id order; each batch goes through the
    three steps of the module docstring, so a run killed anywhere loses at most the answers of
    the batches in flight, which the next run asks the gateway for again under the same keys.

    Batches touch disjoint subscriptions, so on PostgreSQL ``workers`` batches (default 2) are in
    flight at once, each on its own connection: one is prepared while the server stores
    another. The gateway is asked for one batch at a time. SQLite has one writer, and a
    transaction that read before it writes cannot wait for another writer there: one worker,
    whatever ``workers`` says."""
    require_aware(now, place="now")
    summary = RunSummary(day)
    _resume_paused(engine, day, now, summary)
    due = due_subscriptions(engine, day)
    summary.due = len(due)
    parts = [due[start:start + batch] for start in range(0, len(due), batch)]
    if engine.dialect.name != "postgresql":
        workers = 1
    elif workers is None:
        workers = 2
    asking = Lock()

    def one(part: list[int]) -> RunSummary:
        done = RunSummary(day)
        with engine.connect() as conn:
            charges = _read_batch(conn, day, part[0], part[-1])
        charges = _record_pending(engine, charges, now)
        if charges:
            with asking:
                results = charge_all(gateway, [ChargeRequest(c.key, c.member, c.amount,
                                                             CURRENCY) for c in charges])
            _settle(engine, charges, results, now, retry_days, done)
        return done

    if workers <= 1 or len(parts) <= 1:
        results = [one(part) for part in parts]
    else:
        results = _in_flight(one, parts, workers)
    for done in results:
        summary.approved += done.approved
        summary.declined += done.declined
        summary.suspended += done.suspended
        summary.recovered += done.recovered
        summary.ordered.extend(done.ordered)
    return summary


def _in_flight(work: Callable[[list[int]], RunSummary], parts: list[list[int]],
               workers: int) -> list[RunSummary]:
    """``work`` over ``parts`` with at most ``workers`` in flight; after a failure no new part
    starts, the ones in flight finish, and the failure is raised."""
    pool = ThreadPoolExecutor(max_workers=workers)
    flying: deque[Future[RunSummary]] = deque()
    done: list[RunSummary] = []
    try:
        for part in parts:
            flying.append(pool.submit(work, part))
            if len(flying) >= workers:
                done.append(flying.popleft().result())
        while flying:
            done.append(flying.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done
