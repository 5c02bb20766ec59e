"""A whole commission close from the database: load the facts, run the plan, persist everything.

    .venv/bin/python benchmarks/commissions_close.py --members 1000000

Generates the company (not timed as part of the close), then times ``commit_period`` for the
generated month with the example plan on SQLite and on PostgreSQL (a database made for the run
and dropped afterwards), split into load / engine / persist, and checks that re-running the
committed snapshot reproduces every line.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from scratch import scratch_database  # benchmarks/scratch.py, beside this script

from patronage.clock import Period
from patronage.compensation.engine import run_engine
from patronage.compensation.runs import (
    PlanSource,
    commit_period,
    period_bounds,
    rerun_committed,
)
from patronage.db.engine import make_engine
from patronage.db.loaders import load_period_facts
from patronage.db.schema import upgrade
from patronage.demo.company import build_company

PERIOD = Period(2026, 10)


def run(url: str, label: str, members: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start, end = period_bounds(PERIOD)
    build_company(engine, seed=1, members=members, months=1, now=end, history=False,
                  personal=False)
    plan = PlanSource.from_file()
    t0 = time.perf_counter()
    facts = load_period_facts(engine, start, end, str(PERIOD))
    t1 = time.perf_counter()
    run_engine(facts, plan.plan)
    t2 = time.perf_counter()
    commit_period(engine, PERIOD, plan, now=datetime(2026, 11, 2, tzinfo=UTC), actor="bench")
    t3 = time.perf_counter()
    same, again = rerun_committed(engine, PERIOD)
    engine.dispose()
    print(f"{label:10s} {members:,} members, {facts.lines.size:,} lines: whole close "
          f"(commit_period: load + run + persist) {t3 - t2:.1f}s; separately load {t1 - t0:.1f}s,"
          f" engine {t2 - t1:.2f}s; {again.result.payouts.size:,} payout lines; "
          f"snapshot reproduces: {same}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql"):
        with scratch_database(kind) as url:
            run(url, kind, args.members)


if __name__ == "__main__":
    main()
