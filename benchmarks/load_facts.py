"""Generate a company and time loading one period's facts from SQLite and PostgreSQL.

    .venv/bin/python benchmarks/load_facts.py --members 1000000

Prints, per database: seconds to generate (members + a month of orders, written in bulk), seconds
to load the period facts (genealogy arrays + order lines + refunds), and the counts loaded. The
PostgreSQL database is made for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.db.engine import make_engine
from patronage.db.loaders import load_period_facts
from patronage.db.schema import upgrade
from patronage.demo.company import build_company

NOW = datetime(2026, 11, 1, tzinfo=UTC)
START = datetime(2026, 10, 2, tzinfo=UTC)


def run(url: str, label: str, members: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    summary = build_company(engine, seed=1, members=members, months=1, now=NOW, history=False,
                            personal=False)
    t1 = time.perf_counter()
    facts = load_period_facts(engine, START, NOW, "2026-10")
    t2 = time.perf_counter()
    engine.dispose()
    print(f"{label:10s} members={summary.members:,} order_lines={summary.order_lines:,} "
          f"generate={t1 - t0:6.1f}s  load_facts={t2 - t1:5.2f}s  "
          f"(loaded {facts.genealogy.size:,} members, {facts.lines.size:,} lines, "
          f"{facts.refunds.size:,} refund lines)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"cores={os.cpu_count()}  members={args.members:,}", flush=True)
    for kind in ("sqlite",) if args.skip_postgres else ("sqlite", "postgresql"):
        with scratch_database(kind) as url:
            run(url, kind, args.members)


if __name__ == "__main__":
    main()
