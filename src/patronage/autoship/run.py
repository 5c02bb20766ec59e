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

Product credit (:mod:`patronage.credit.ledger`): before the gateway is asked, each pending
attempt takes the customer's credit in the order's currency (up to its total, an ``applied``
entry keyed by the attempt, kept when the run is run again); the card is asked for the rest only,
and not at all when credit pays it all. An approved attempt's credit names its order; a declined
one's is given back (``released``) for the retry.

Dunning (:mod:`patronage.autoship.core.dunning`): a declined charge is retried ``retry_days`` after
the cycle's date (e.g. +1, +3, +7); after the last failure the subscription is suspended
(involuntary churn).

The run's orders are dated ``now``; a run whose ``now`` lies in a committed commission period
is refused before anything is charged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from threading import Lock
from typing import Any
from uuid import uuid4

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from patronage.arrays import I64, Bools, index_of, sum_by
from patronage.autoship.core import dunning, schedule
from patronage.autoship.core.dunning import RETRY_DAYS
from patronage.autoship.core.schedule import FREQUENCY_KINDS, Frequency
from patronage.autoship.gateway import ChargeRequest, ChargeResult, PaymentGateway, charge_all
from patronage.autoship.subscriptions import frequency_of, record
from patronage.clock import DEFAULT_COMPANY_ZONE, Period, require_aware
from patronage.credit.ledger import reserve_for_attempts, settle_attempts
from patronage.db.autoship import AutoshipRun, Subscription
from patronage.db.bulk import (
    allocate_ids,
    fetch_rows,
    insert_ignore,
    update_rows,
    write_rows,
)
from patronage.db.engine import transaction
from patronage.db.loaders import code_case, day_sql, integer_matrix, letters, letters_sql
from patronage.db.markets import Market, ProductPrice
from patronage.db.tables import Product
from patronage.errors import Conflict, IntegrityViolation
from patronage.facts import KIND_CODES, KIND_DISTRIBUTOR, KIND_RETAIL
from patronage.markets.markets import autoship_last_days, default_market
from patronage.orders.core.pricing import price_lines
from patronage.orders.open_period import open_window

BATCH = 50_000


@dataclass
class RunSummary:
    day: date
    due: int = 0
    approved: int = 0
    declined: int = 0
    suspended: int = 0
    resumed: int = 0
    recovered: int = 0
    already_ran: bool = False  # a run of this day had finished before this one
    ordered: list[int] = field(default_factory=list)  # subscriptions ordered in this run


#: A run that has held its day this long is taken to have died (killed without a chance to let
#: go); another run of the day may then take over and finish its work.
RUN_LEASE = timedelta(hours=2)


def _claim(engine: Engine, day: date, now: datetime) -> tuple[str, bool]:
    """Hold ``day`` for this run; returns the run's token and whether a run of the day had
    already finished. Refused while another run holds the day."""
    holder = uuid4().hex
    try:
        with engine.begin() as conn:
            conn.execute(insert(AutoshipRun).values(day=day, holder=holder, started_at=now))
        return holder, False
    except IntegrityError:
        pass  # the day has a row: free (finished or let go), or held by another run
    with engine.begin() as conn:
        taken = conn.execute(update(AutoshipRun).where(
            AutoshipRun.day == day,
            or_(AutoshipRun.holder.is_(None), AutoshipRun.started_at < now - RUN_LEASE),
        ).values(holder=holder, started_at=now)).rowcount
        started, finished = conn.execute(select(AutoshipRun.started_at, AutoshipRun.finished_at)
                                         .where(AutoshipRun.day == day)).one()
    if taken != 1:
        raise Conflict(f"autoship run of {day}: another run of this day is in progress (started "
                       f"{started:%Y-%m-%d %H:%M} UTC); this one charged nothing")
    return holder, finished is not None


def _let_go(engine: Engine, day: date, holder: str, finished: datetime | None) -> None:
    values: dict[str, Any] = {"holder": None}
    if finished is not None:
        values["finished_at"] = finished
    with engine.begin() as conn:
        conn.execute(update(AutoshipRun).where(AutoshipRun.day == day,
                                               AutoshipRun.holder == holder).values(**values))


def _resume_paused(engine: Engine, day: date, now: datetime, summary: RunSummary) -> None:
    with transaction(engine) as s:
        last_days = autoship_last_days(s)
        for sub in s.scalars(select(Subscription).where(
                Subscription.status == "paused", Subscription.paused_until <= day)):
            assert sub.paused_until is not None
            plan = schedule.resume(schedule.Plan(
                frequency_of(sub), sub.market, sub.next_run, sub.status, sub.paused_until,
                sub.skipped_run, last_days=last_days), sub.paused_until)
            sub.status, sub.next_run, sub.paused_until = plan.status, plan.next_run, None
            record(s, sub, "resumed", now, "autoship", f"next run {sub.next_run}")
            summary.resumed += 1


def due_subscriptions(engine: Engine, day: date) -> list[int]:
    """Active subscriptions whose run or retry is due on or before ``day``, in id order (read
    straight from the driver: a busy day has a million of them)."""
    with engine.connect() as conn:
        return [sub for (sub,) in fetch_rows(conn, _DUE_IDS_SQL, {"day": day.isoformat()})]


_DUE_IDS_SQL = """
    SELECT s.id FROM subscriptions s
    WHERE s.status = 'active'
      AND ((s.retry_on IS NULL AND s.next_run <= :day) OR s.retry_on <= :day)
    ORDER BY s.id"""
def _due_sql(conn: Connection) -> str:
    """The due subscriptions with ids in [lo, hi] whose member can order, as integers: id,
    member, cycle day, failures, frequency, day of month, weeks, market, buyer kind, owner,
    buyer's market (-1: the default market)."""
    return f"""
    SELECT s.id, s.member_id, {day_sql(conn, "s.next_run")}, s.failures,
           {code_case("s.frequency", _FREQUENCY_CODES)}, s.day_of_month, s.every_weeks,
           {letters_sql(conn, "s.market")}, {code_case("m.kind", KIND_CODES)},
           COALESCE(m.owner_id, -1), COALESCE(m.market_id, -1)
    FROM subscriptions s JOIN members m ON m.id = s.member_id
    WHERE s.id BETWEEN :lo AND :hi AND s.status = 'active'
      AND ((s.retry_on IS NULL AND s.next_run <= :day) OR s.retry_on <= :day)
      AND m.status NOT IN ('terminated', 'erased')
    ORDER BY s.id"""


_FREQUENCY_CODES = {name: i for i, name in enumerate(FREQUENCY_KINDS)}
# Items with their product (-1: a SKU not in the catalogue).
_ITEMS_SQL = """
    SELECT i.subscription_id, COALESCE(p.id, -1), i.quantity FROM subscription_items i
    LEFT JOIN products p ON p.sku = i.sku
    WHERE i.subscription_id BETWEEN :lo AND :hi ORDER BY i.subscription_id, i.id"""



@dataclass
class _Batch:
    """The due subscriptions of one batch as columns (one row each), and their items' order
    lines, priced (``line_row`` is the row a line belongs to). The hot path: a million rows on a
    busy day, so nothing here is an object per subscription."""

    sub: I64
    member: I64
    cycle: I64  # the cycle's date as a day number (date.toordinal)
    attempt: I64
    shape: I64  # index into ``shapes``: (frequency, market)
    shapes: list[tuple[Frequency, str | None]]
    last_days: dict[str, int]  # the markets' autoship last allowed days, by market code
    retail: Bools  # the buyer pays the retail price
    currency: npt.NDArray[np.str_]  # each row's currency: its buyer's market's
    distributor: Bools  # the buyer is a distributor (their own purchase)
    credited: I64  # -1: nobody
    amount: I64
    line_row: I64
    line_product: I64
    line_quantity: I64
    line_unit: I64
    line_qv: I64
    line_cv: I64
    line_retail: I64
    line_wholesale: I64
    line_pack: Bools

    @property
    def size(self) -> int:
        return int(self.sub.shape[0])

    def cycle_texts(self) -> list[str]:
        """Each row's cycle date in ISO form, as keys and the attempts table spell it."""
        days, inverse = np.unique(self.cycle, return_inverse=True)
        texts = [date.fromordinal(int(d)).isoformat() for d in days]
        return [texts[i] for i in inverse.reshape(-1).tolist()]

    def cycle_dates(self) -> npt.NDArray[np.datetime64]:
        """Each row's cycle date as ``datetime64[D]``, for bulk writes."""
        return (self.cycle - _UNIX_DAY).astype("datetime64[D]")

    def keys(self) -> list[str]:
        return [f"autoship:{s}:{c}:{a}" for s, c, a in zip(
            self.sub.tolist(), self.cycle_texts(), self.attempt.tolist(), strict=True)]

    def take(self, rows: I64) -> _Batch:
        """The batch reduced to ``rows`` (ascending), with their lines."""
        position = np.full(self.size, -1, dtype=np.int64)
        position[rows] = np.arange(rows.shape[0])
        keep = position[self.line_row] >= 0
        line_fields = {name: getattr(self, name)[keep] for name in (
            "line_product", "line_quantity", "line_unit", "line_qv", "line_cv", "line_retail",
            "line_wholesale", "line_pack")}
        return _Batch(
            sub=self.sub[rows], member=self.member[rows], cycle=self.cycle[rows],
            attempt=self.attempt[rows], shape=self.shape[rows], shapes=self.shapes,
            last_days=self.last_days,
            retail=self.retail[rows], currency=self.currency[rows],
            distributor=self.distributor[rows],
            credited=self.credited[rows], amount=self.amount[rows],
            line_row=position[self.line_row[keep]], **line_fields)


def _read_batch(conn: Connection, day: date, lo: int, hi: int, default_market: int) -> _Batch:
    """The due subscriptions with ids in [lo, hi], priced in their buyers' markets as
    :func:`place_order` prices them (:mod:`patronage.orders.core.pricing`). Read as integer matrices
    (PostgreSQL: one binary COPY each), with no Python object per row. A product without a
    price in a buyer's market refuses the batch before anything is charged."""
    catalog = conn.execute(select(Product.id, Product.sku, Product.is_enrollment_pack,
                                  Product.volume_when_free)).all()
    product_ids = np.array([int(p[0]) for p in catalog], dtype=np.int64)
    skus = [str(p[1]) for p in catalog]
    pack = np.array([bool(p[2]) for p in catalog], dtype=bool)
    when_free = np.array([bool(p[3]) for p in catalog], dtype=bool)
    markets = conn.execute(select(Market.id, Market.code, Market.currency,
                                  Market.autoship_last_day).order_by(Market.id)).all()
    market_ids = np.array([int(m[0]) for m in markets], dtype=np.int64)
    # Prices by (product position, market position); -1: no price there.
    table = np.full((len(catalog), len(markets), 4), -1, dtype=np.int64)
    product_at = {int(p): i for i, p in enumerate(product_ids.tolist())}
    market_pos = {int(m): i for i, m in enumerate(market_ids.tolist())}
    for pr in conn.execute(select(ProductPrice.product_id, ProductPrice.market_id,
                                  ProductPrice.retail_price, ProductPrice.wholesale_price,
                                  ProductPrice.qv, ProductPrice.cv)).all():
        if pr[0] in product_at and pr[1] in market_pos:
            table[product_at[pr[0]], market_pos[pr[1]]] = pr[2:]
    due = integer_matrix(conn, _due_sql(conn), {"lo": lo, "hi": hi, "day": day.isoformat()}, 11)
    sub, member = due[:, 0].copy(), due[:, 1].copy()
    shape_rows, shape = np.unique(due[:, 4:8], axis=0, return_inverse=True)
    shapes: list[tuple[Frequency, str | None]] = [
        (Frequency(FREQUENCY_KINDS[f], int(dom), int(weeks)), letters(int(market)))
        for f, dom, weeks, market in shape_rows.tolist()]
    kind = due[:, 8]
    distributor = kind == KIND_DISTRIBUTOR
    retail = kind == KIND_RETAIL
    credited = np.where(distributor, member, due[:, 9])
    market_at = index_of(market_ids, np.where(due[:, 10] < 0, default_market, due[:, 10]))
    items = integer_matrix(conn, _ITEMS_SQL, {"lo": lo, "hi": hi}, 3)
    row = index_of(sub, items[:, 0])
    at = index_of(product_ids, items[:, 1])
    unknown = (row >= 0) & (at < 0)
    if unknown.any():
        raise IntegrityViolation(
            f"subscription {int(items[np.argmax(unknown), 0])}: an item's SKU is not in the "
            "product catalogue; nothing of this batch was charged")
    keep = row >= 0
    line_row, quantity, line_at = row[keep], items[keep, 2], at[keep]
    line_market = market_at[line_row]
    price = table[line_at, np.maximum(line_market, 0)]
    unpriced = (price[:, 0] < 0) | (line_market < 0)
    if unpriced.any():
        first = int(np.argmax(unpriced))
        where = markets[int(line_market[first])][1] if line_market[first] >= 0 else "?"
        raise IntegrityViolation(
            f"subscription {int(sub[line_row[first]])}: product {skus[int(line_at[first])]!r} "
            f"has no price in market {where}; nothing of this batch was charged")
    priced = price_lines(
        retail=price[:, 0], wholesale=price[:, 1], qv=price[:, 2], cv=price[:, 3],
        quantity=np.ones_like(quantity), pays_retail=retail[line_row],
        by_distributor=distributor[line_row], promotional=pack[line_at],
        volume_when_free=when_free[line_at])
    amount = sum_by(line_row, priced.unit_price * quantity, sub.shape[0])
    currencies = [str(m[2]) for m in markets]
    batch = _Batch(
        sub=sub, member=member, cycle=due[:, 2] + _UNIX_DAY, attempt=due[:, 3] + 1,
        shape=shape.reshape(-1).astype(np.int64), shapes=shapes,
        last_days={str(m[1]): int(m[3]) for m in markets if m[3] is not None}, retail=retail,
        currency=np.array(currencies or [""])[np.maximum(market_at, 0)],
        distributor=distributor, credited=credited, amount=amount, line_row=line_row,
        line_product=product_ids[line_at], line_quantity=quantity,
        line_unit=priced.unit_price, line_qv=priced.qv, line_cv=priced.cv,
        line_retail=priced.retail_total, line_wholesale=priced.wholesale_total,
        line_pack=priced.promotional)
    with_lines = np.flatnonzero(np.bincount(line_row, minlength=sub.shape[0]) > 0)
    return batch if with_lines.shape[0] == batch.size else batch.take(with_lines)


def _attempt_keys(sub: I64, cycle: I64, attempt: I64) -> I64:
    """(subscription, cycle day number, attempt) packed into one integer, to match rows."""
    return (sub << 28) | ((cycle - _DAY_ZERO) << 8) | attempt


_DAY_ZERO = date(1900, 1, 1).toordinal()
_UNIX_DAY = date(1970, 1, 1).toordinal()


def _moments(now: datetime, n: int) -> npt.NDArray[np.datetime64]:
    """``now`` for ``n`` rows, as UTC ``datetime64`` (written in PostgreSQL's binary COPY
    format, not as text the server parses row by row)."""
    return np.full(n, np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us"))


def _record_pending(engine: Engine, batch: _Batch, now: datetime) -> tuple[_Batch, I64]:
    """Step 1: every attempt written as pending (kept if already there) and committed before
    the gateway is asked; returns the rows whose attempt is still pending, and their ids."""
    with engine.begin() as conn:
        k = batch.size
        insert_ignore(conn, "autoship_attempts", {
            "subscription_id": batch.sub, "cycle": batch.cycle_dates(), "attempt": batch.attempt,
            "status": ["pending"] * k, "amount": batch.amount, "at": _moments(now, k),
        })
    with engine.connect() as conn:
        rows, ids = _still_pending(conn, batch)
    return (batch if rows.shape[0] == batch.size else batch.take(rows)), ids


def _still_pending(conn: Connection, batch: _Batch) -> tuple[I64, I64]:
    """The rows of ``batch`` whose attempt is pending in the store, and the attempts' ids."""
    if batch.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    found = integer_matrix(
        conn, f"SELECT id, subscription_id, {day_sql(conn, 'cycle')}, attempt "
              "FROM autoship_attempts WHERE subscription_id BETWEEN :lo AND :hi "
              "AND status = 'pending'",
        {"lo": int(batch.sub.min()), "hi": int(batch.sub.max())}, 4)
    ids = found[:, 0].copy()
    stored = _attempt_keys(found[:, 1], found[:, 2] + _UNIX_DAY, found[:, 3])
    order = np.argsort(stored)
    stored, ids = stored[order], ids[order]
    wanted = _attempt_keys(batch.sub, batch.cycle, batch.attempt)
    at = np.clip(np.searchsorted(stored, wanted), 0, max(stored.shape[0] - 1, 0))
    hit = (stored[at] == wanted) if stored.shape[0] else np.zeros(batch.size, dtype=bool)
    rows = np.flatnonzero(hit)
    return rows, ids[at[rows]]


def _settle(engine: Engine, batch: _Batch, results: list[ChargeResult], now: datetime,
            retry_days: tuple[int, ...], summary: RunSummary,
            credit: I64 | None = None) -> None:
    """Step 3, in one transaction: the answers recorded, approved charges ordered (the order
    rows as :func:`place_order` makes them), declines dunned, subscriptions moved on, events.
    ``credit``: each row's product credit applied (the card was asked for the rest); an
    approved row's credit names its order, a declined row's is given back."""
    if credit is None:
        credit = np.zeros(batch.size, dtype=np.int64)
    approved_all = np.fromiter((r.approved for r in results), dtype=bool, count=len(results))
    declines_all = [r.decline for r in results]
    with engine.begin() as conn:
        # Only attempts still pending are settled: a second run at the same time settles
        # nothing twice.
        kept, attempt_ids = _still_pending(conn, batch)
        b = batch if kept.shape[0] == batch.size else batch.take(kept)
        approved = approved_all[kept]
        declines = [declines_all[i] for i in kept.tolist()]
        texts = b.cycle_texts()
        ok = np.flatnonzero(approved)
        order_ids = allocate_ids(conn, "orders", int(ok.shape[0]))
        order_of = np.full(b.size, -1, dtype=np.int64)
        order_of[ok] = order_ids
        _write_orders(conn, b, ok, order_of, [texts[i] for i in ok.tolist()], now)
        used = credit[kept]
        orders = [None if o < 0 else o for o in order_of.tolist()]
        update_rows(conn, "autoship_attempts", {
            "id": attempt_ids,
            "status": ["approved" if a else "declined" for a in approved.tolist()],
            "decline": declines,
            "order_id": orders,
            "amount": b.amount - used})
        if used.any():
            settle_attempts(conn, b.keys(), used.tolist(), orders, now)
        moves, events = _moves_and_events(b, approved, declines, retry_days, summary.day,
                                          summary)
        update_rows(conn, "subscriptions", {
            **moves, "next_run": np.array(moves["next_run"], dtype="datetime64[D]"),
            "retry_on": np.array(moves["retry_on"], dtype="datetime64[D]")})
        k = len(events["kind"])
        write_rows(conn, "autoship_events", {**events, "at": _moments(now, k),
                                             "actor": ["autoship"] * k})
    summary.approved += int(ok.shape[0])
    summary.declined += int(b.size - ok.shape[0])
    summary.ordered.extend(b.sub[ok].tolist())


def _write_orders(conn: Connection, b: _Batch, ok: I64, order_of: I64, cycles: list[str],
                  now: datetime) -> None:
    """The approved rows' orders (``order_of``: each row's order id, -1 for none) and their
    lines, priced and classified as :func:`place_order` does."""
    n = int(ok.shape[0])
    write_rows(conn, "orders", {
        "id": order_of[ok], "buyer_id": b.member[ok],
        "credited_to_id": [None if c < 0 else c for c in b.credited[ok].tolist()],
        "total": b.amount[ok],
        "idempotency_key": [f"autoship:{s}:{c}" for s, c in zip(
            b.sub[ok].tolist(), cycles, strict=True)],
        "subscription_id": b.sub[ok], "placed_at": _moments(now, n),
        "currency": b.currency[ok], "source": ["autoship"] * n,
        "status": ["paid"] * n})
    lines = np.flatnonzero(order_of[b.line_row] >= 0)
    q = b.line_quantity[lines]
    write_rows(conn, "order_lines", {
        "order_id": order_of[b.line_row[lines]], "product_id": b.line_product[lines],
        "quantity": q, "unit_price": b.line_unit[lines], "amount": b.line_unit[lines] * q,
        "qv": b.line_qv[lines] * q, "cv": b.line_cv[lines] * q,
        "retail_total": b.line_retail[lines] * q, "wholesale_total": b.line_wholesale[lines] * q,
        "volume_kind": np.where(b.line_pack[lines], "promotional", "consumption"),
        "buyer_class": np.where(b.distributor[b.line_row[lines]], "distributor", "customer")})


def _moves_and_events(b: _Batch, approved: Bools, declines: list[str | None],
                      retry_days: tuple[int, ...], run_day: date,
                      summary: RunSummary) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The batch's dunning (:mod:`patronage.autoship.core.dunning`): subscription moves and
    events."""
    done = dunning.settle(dunning.Charged(
        sub=b.sub.tolist(), member=b.member.tolist(), cycle=b.cycle.tolist(),
        attempt=b.attempt.tolist(), shape=b.shape.tolist(), shapes=b.shapes,
        approved=approved.tolist(), declines=declines,
        last_days=b.last_days), run_day, retry_days)
    summary.recovered += done.recovered
    summary.suspended += done.suspended
    return done.moves, done.events


def run_day(engine: Engine, day: date, gateway: PaymentGateway, *, now: datetime,
            retry_days: tuple[int, ...] = RETRY_DAYS, batch: int = BATCH,
            workers: int | None = None, company_zone: str = DEFAULT_COMPANY_ZONE) -> RunSummary:
    """Charge and order every subscription due on ``day``; idempotent, safe to re-run.

    Due subscriptions are taken ``batch`` at a time, in id order; each batch goes through the
    three steps of the module docstring, so a run killed anywhere loses at most the answers of
    the batches in flight, which the next run asks the gateway for again under the same keys.

    Batches touch disjoint subscriptions, so on PostgreSQL ``workers`` batches (default 2) are in
    flight at once, each on its own connection: one is prepared while the server stores
    another. The gateway is asked for one batch at a time. SQLite has one writer, and a
    transaction that read before it writes cannot wait for another writer there: one worker,
    whatever ``workers`` says.

    One run of a day works at a time: a run started while another holds the day is refused
    (:class:`Conflict`, "another run of this day is in progress") before it charges anything.
    A run of a day that already ran is allowed; it charges only what became due since."""
    require_aware(now, place="now")
    _check_open(engine, day, now, company_zone)
    holder, already_ran = _claim(engine, day, now)
    try:
        summary = _run(engine, day, gateway, now, retry_days, batch, workers)
    except IntegrityError as exc:
        _let_go(engine, day, holder, None)
        raise Conflict(f"autoship run of {day}: another run is charging the same "
                       "subscriptions at this moment; run again once it has finished") from exc
    except BaseException:
        _let_go(engine, day, holder, None)
        raise
    _let_go(engine, day, holder, now)
    summary.already_ran = already_ran
    return summary


def _run(engine: Engine, day: date, gateway: PaymentGateway, now: datetime,
         retry_days: tuple[int, ...], batch: int, workers: int | None) -> RunSummary:
    summary = RunSummary(day)
    with transaction(engine) as s:
        default_id = default_market(s).id
    _resume_paused(engine, day, now, summary)
    due = due_subscriptions(engine, day)
    summary.due = len(due)
    parts = [due[start:start + batch] for start in range(0, len(due), batch)]
    if engine.dialect.name != "postgresql":
        workers = 1
    elif workers is None:
        workers = 2
    asking, reserving = Lock(), Lock()

    def one(part: list[int]) -> RunSummary:
        done = RunSummary(day)
        with engine.connect() as conn:
            batch = _read_batch(conn, day, part[0], part[-1], default_id)
        batch, _ = _record_pending(engine, batch, now)
        if batch.size:
            keys = batch.keys()
            with reserving:  # batches in flight never share out one member's credit twice
                credit = np.array(reserve_for_attempts(
                    engine, keys, batch.member.tolist(), batch.currency.tolist(),
                    batch.amount.tolist(), batch.sub.tolist(), now), dtype=np.int64)
            card = batch.amount - credit
            need = np.flatnonzero(card > 0).tolist()
            requests = [ChargeRequest(keys[i], int(batch.member[i]), int(card[i]),
                                      str(batch.currency[i])) for i in need]
            with asking:
                answers = charge_all(gateway, requests)
            # Paid by credit in full: nothing to ask the card for.
            results = [ChargeResult(True)] * batch.size
            for i, answer in zip(need, answers, strict=True):
                results[i] = answer
            _settle(engine, batch, results, now, retry_days, done, credit=credit)
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


def _check_open(engine: Engine, day: date, now: datetime, company_zone: str) -> None:
    """The run's orders are dated ``now``: refused before anything is charged when ``now`` is
    in a committed period (whose commissions are paid already)."""
    with transaction(engine) as s:
        window = open_window(s, now, company_zone=company_zone)
    if now < window.since:
        raise Conflict(f"autoship run of {day}: now ({now.isoformat()}) is in period "
                       f"{Period.containing(now, window.tz)}, which is committed; nothing was "
                       "charged")


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
