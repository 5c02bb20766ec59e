"""A whole commission close from the database: load the facts, run the plan, persist everything.

    .venv/bin/python benchmarks/commissions_close.py --members 1000000

Generates the company (not timed as part of the close), then times ``commit_period`` for the
generated month with the example plan on SQLite and on PostgreSQL (a database made for the run
and dropped afterwards), split into its steps, and checks that re-running the committed snapshot
reproduces every line; then runs the integrity check (``patronage check``, which replays the
committed period again among its checks) and prints it with its time. ``--keep-sqlite FILE
--keep-postgres NAME`` generate the company once and close a fresh copy of it in every later
run:

    .venv/bin/python benchmarks/commissions_close.py --members 1000000 \
        --keep-sqlite /tmp/close_1m.db --keep-postgres close_1m
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from scratch import (  # benchmarks/scratch.py, beside this script
    add_keep_options,
    company_copy,
    kept,
    print_check,
)

from patronage.clock import DEFAULT_COMPANY_ZONE, Period, zone
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import default_plan_path
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
from patronage.fastpath.allocator import reused_memory

PERIOD = Period(2026, 10)


def build(url: str, members: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    _, end = period_bounds(PERIOD, zone(DEFAULT_COMPANY_ZONE))
    t = time.perf_counter()
    build_company(engine, seed=1, members=members, months=1, now=end, history=False,
                  personal=False)
    print(f"company of {members:,} members generated in {time.perf_counter() - t:.0f}s",
          flush=True)
    engine.dispose()


def run(url: str, label: str, members: int) -> None:
    engine = make_engine(url)
    upgrade(engine)  # a kept company may predate the latest migrations
    start, end = period_bounds(PERIOD, zone(DEFAULT_COMPANY_ZONE))
    plan = PlanSource.from_file(default_plan_path())
    t0 = time.perf_counter()
    facts = load_period_facts(engine, start, end, str(PERIOD))
    t1 = time.perf_counter()
    with reused_memory():  # as the batch command runs them
        run_engine(facts, plan.plan)
    t2 = time.perf_counter()
    seconds: dict[str, float] = {}
    now = datetime(2026, 11, 2, tzinfo=UTC)
    with reused_memory():
        commit_period(engine, PERIOD, plan, now=now, actor="bench", seconds=seconds)
    t3 = time.perf_counter()
    same, again = rerun_committed(engine, PERIOD)
    print(f"{label:10s} {members:,} members, {facts.lines.size:,} lines: whole close "
          f"(commit_period) {t3 - t2:.1f}s ("
          + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
          + f"); before it, separately: load {t1 - t0:.1f}s, engine {t2 - t1:.2f}s; "
          f"{again.result.payouts.size:,} payout lines; snapshot reproduces: {same}",
          flush=True)
    print_check(engine, label, now)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    add_keep_options(parser)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    kinds = [k for k, skip in (("sqlite", args.skip_sqlite),
                               ("postgresql", args.skip_postgres)) if not skip]
    for kind in kinds:
        keep = kept(args, kind)
        with company_copy(kind, keep, lambda url: build(url, args.members)) as url:
            run(url, kind, args.members)


if __name__ == "__main__":
    main()
