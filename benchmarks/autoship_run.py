"""The daily autoship run on a large company: every subscription due on the same day.

    .venv/bin/python benchmarks/autoship_run.py --subscriptions 1000000 \
        [--keep-sqlite /tmp/autoship_1m.db --keep-postgres autoship_1m]

Generates a company (``build_company``, not timed) and gives every member an active monthly
autoship of one or two products, all due on the run day (the hardest day: an ordinary day has
about a 28th of them due). Then times ``run_day`` with the simulated gateway (4% declines) on
SQLite and on PostgreSQL (a database made for the run and dropped afterwards), runs the same day
again to show that it does nothing, and checks one order and one charge per approved subscription;
then runs the integrity check (``patronage check``) on the result and prints it with its time.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

import numpy as np
from scratch import (  # benchmarks/scratch.py, beside this script
    add_keep_options,
    company_copy,
    kept,
    print_check,
)
from sqlalchemy import func, select, text

from patronage.autoship.gateway import SimulatedGateway
from patronage.autoship.run import run_day
from patronage.db.autoship import SimulatedCharge
from patronage.db.bulk import time_text, write_rows
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.db.tables import Order
from patronage.demo.company import build_company

DAY = date(2026, 11, 12)
NOW = datetime(2026, 11, 12, 7, tzinfo=UTC)


def subscribe_everyone(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    build_company(engine, seed=1, members=n, months=1, now=datetime(2026, 11, 1, tzinfo=UTC),
                  history=False, personal=False)
    rng = np.random.default_rng(7)
    with engine.begin() as conn:
        members = np.array(conn.execute(text("SELECT id FROM members ORDER BY id")).scalars()
                           .all(), dtype=np.int64)[:n]
        skus = conn.execute(text("SELECT sku FROM products WHERE NOT is_enrollment_pack "
                                 "ORDER BY id")).scalars().all()
        count = members.size
        ids = np.arange(1, count + 1)
        created = time_text(datetime(2026, 1, 5, tzinfo=UTC), conn.dialect.name)
        write_rows(conn, "subscriptions", {
            "id": ids, "member_id": members, "status": ["active"] * count,
            "frequency": ["monthly"] * count, "day_of_month": np.full(count, DAY.day),
            "every_weeks": np.full(count, 4), "market": ["US"] * count,
            "next_run": [DAY.isoformat()] * count, "failures": np.zeros(count, np.int64),
            "created_at": [created] * count})
        two = rng.random(count) < 0.3
        first = rng.integers(0, len(skus), count)
        second = (first + 1 + rng.integers(0, len(skus) - 1, count)) % len(skus)
        item_sub = np.concatenate([ids, ids[two]])
        item_sku = np.concatenate([first, second[two]])
        order = np.argsort(item_sub, kind="stable")
        write_rows(conn, "subscription_items", {
            "subscription_id": item_sub[order],
            "sku": [skus[int(i)] for i in item_sku[order]],
            "quantity": np.ones(item_sub.size, np.int64)})
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), "
                              f"{count + 1}, false)"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()


def run(url: str, label: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)  # a kept company may predate the latest migrations
    with engine.connect() as conn:
        orders_before = conn.execute(select(func.count()).select_from(Order)).scalar_one()
    gateway = SimulatedGateway(engine, decline_rate=0.04, seed=3)
    t2 = time.perf_counter()
    summary = run_day(engine, DAY, gateway, now=NOW)
    t3 = time.perf_counter()
    again = run_day(engine, DAY, gateway, now=NOW)
    t4 = time.perf_counter()
    with engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(Order)).scalar_one()
        charges = conn.execute(select(func.count()).select_from(SimulatedCharge)).scalar_one()
    print(f"{label:10s} {summary.due:,} due: run {t3 - t2:.1f}s "
          f"({summary.due / (t3 - t2):,.0f} subscriptions/s), {summary.approved:,} ordered, "
          f"{summary.declined:,} declined; same day again {t4 - t3:.2f}s with {again.due} due; "
          f"new orders {orders - orders_before:,}, charges {charges:,} "
          f"(one each: {orders - orders_before == summary.approved and charges == summary.due})",
          flush=True)
    print_check(engine, label, NOW)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    add_keep_options(parser)
    args = parser.parse_args()

    def build(url: str) -> None:
        t = time.perf_counter()
        subscribe_everyone(url, args.subscriptions)
        print(f"company with {args.subscriptions:,} subscriptions generated in "
              f"{time.perf_counter() - t:.0f}s", flush=True)

    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            keep = kept(args, kind)
            with company_copy(kind, keep, build) as url:
                run(url, kind, args.subscriptions)


if __name__ == "__main__":
    main()
