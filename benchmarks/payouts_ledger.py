"""Money out at scale: post a committed month's payout lines to the earnings ledger, build the
payout batch and write its file.

    .venv/bin/python benchmarks/payouts_ledger.py --members 100000

Writes (not timed) ``--members`` distributors, some terminated, and one committed run with
``--lines`` payout lines per member on average (a close of the example plan stores about 1.1
per member: 1.1 million at a million members, 10.7 million at ten million), spread evenly over
the members (more earners than a real close has, where lines gather on the uplines), a tenth
of the members earning below the minimum payout and some with a clawback. Then times, on
SQLite and on PostgreSQL (a database made for the run and dropped afterwards): posting the run
(``post_run``, one ``INSERT ... SELECT``), building the batch (``build_batch``: balances,
holds, payments and their ledger movements) and exporting the batch's CSV; and checks that the
ledger balances (paid + held + carried = earned − clawed back). With ``--keep-sqlite FILE``
and ``--keep-postgres NAME`` the company is generated once and kept; each run then works on a
fresh copy of it (before and after a change can alternate on the same data).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from scratch import (  # benchmarks/scratch.py, beside this script
    add_keep_options,
    company_copy,
    kept,
)
from sqlalchemy import text

from patronage.db.bulk import write_rows
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.markets.markets import ensure_configured_market
from patronage.payouts.batches import build_batch, export_batch, standing
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.ledger import post_run, totals

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def seed(url: str, members: int, lines_per_member: float) -> int:
    """The members and one committed run's payout lines; returns the run id."""
    engine = make_engine(url)
    upgrade(engine)
    ensure_configured_market(engine, "US", currency="USD", timezone="UTC")
    rng = np.random.default_rng(1)
    n_lines = int(members * lines_per_member)
    with engine.begin() as conn:
        ids = np.arange(1, members + 1, dtype=np.int64)
        status = np.where(rng.random(members) < 0.01, "terminated", "active")
        write_rows(conn, "members", {
            "id": ids, "kind": ["distributor"] * members, "status": status.tolist(),
            "first_name": [f"D{i}" for i in ids.tolist()], "last_name": ["Bench"] * members,
            "timezone": ["UTC"] * members, "locale": ["en-US"] * members,
            "joined_at": np.full(members, np.datetime64("2026-01-01T00:00:00", "s")),
        }, times=("joined_at",))
        run_id = conn.execute(text(
            "INSERT INTO commission_runs (period, plan_name, plan_version, plan_text, "
            "facts_digest, committed_at, committed_by, total_cv, total_paid, cap_applied, "
            "volume_mix) VALUES ('2026-10', 'bench', '1', '', 'd', :t, 'bench', 0, 0, :f, :f) "
            "RETURNING id"), {"t": NOW, "f": False}).scalar_one()
        earner = np.sort(rng.integers(1, members + 1, n_lines))
        amount = rng.integers(1, 2000, n_lines)
        small = np.isin(earner, ids[rng.random(members) < 0.1])
        amount[small] = 1
        claw = rng.random(n_lines) < 0.005
        amount[claw] = -rng.integers(1, 5000, int(claw.sum()))
        write_rows(conn, "payout_lines", {
            "run_id": np.full(n_lines, run_id), "earner_id": earner,
            "bonus": np.zeros(n_lines, dtype=np.int64),
            "source_kind": np.ones(n_lines, dtype=np.int64),
            "source_id": np.arange(n_lines, dtype=np.int64), "level": np.zeros(n_lines, np.int64),
            "volume": np.full(n_lines, 100), "rate_bp": np.full(n_lines, 500), "amount": amount,
            "clawback_of": [1 if c else None for c in claw.tolist()],
            "currency": np.full(n_lines, 840), "paid_amount": amount,
        })
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE payout_lines"))
            conn.execute(text("ANALYZE members"))
    engine.dispose()
    return int(run_id)


def run(url: str, label: str, members: int) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        run_id = conn.execute(text("SELECT MAX(id) FROM commission_runs")).scalar_one()
    rules = PayoutRules.from_text("20.00", "500.00", 15)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        posted = post_run(conn, run_id, now=NOW, actor="bench")
    t1 = time.perf_counter()
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="bench", rules=rules)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_batch(engine, batch.id, Path(tmp), now=NOW, actor="bench").paths[0]
        size = path.stat().st_size
    t3 = time.perf_counter()
    with engine.connect() as conn:
        lines = conn.scalar(text("SELECT COUNT(*) FROM payout_lines"))
        t = totals(conn)["USD"]
        owed = standing(conn, now=NOW, rules=rules)["USD"]
    balanced = (t.paid_out + owed.payable + owed.held + owed.carried
                == t.earned + t.adjusted + t.clawed_back)
    print(f"{label:10s} {members:,} members, {lines:,} lines: post {t1 - t0:.1f}s "
          f"({posted:,} movements), batch {t2 - t1:.1f}s ({batch.payments:,} payments), "
          f"export {t3 - t2:.1f}s ({size / 1e6:.1f} MB); total {t3 - t0:.1f}s; held "
          f"{owed.held_members:,}, carried {owed.carried_members:,}; balanced: {balanced}",
          flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--lines", type=float, default=1.1,
                        help="Payout lines per member on average.")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    add_keep_options(parser)
    args = parser.parse_args()
    for kind, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_postgres)):
        if skip:
            continue

        def build(url: str, kind: str = kind) -> None:
            t = time.perf_counter()
            seed(url, args.members, args.lines)
            print(f"{kind:10s} seeded in {time.perf_counter() - t:.0f}s (not timed)", flush=True)

        with company_copy(kind, kept(args, kind), build) as url:
            run(url, kind, args.members)


if __name__ == "__main__":
    main()
