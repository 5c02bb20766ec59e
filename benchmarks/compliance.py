"""Compliance figures over twelve committed months: customer-volume evidence (company and every
team), the teams below a threshold, the recruitment-reward index, the income disclosure and the
compliance flags of the last month (inventory loading; returns after a rank, volume without
customers and accounts sharing an address or a card).

    .venv/bin/python benchmarks/compliance.py --members 1000000

Generates a company (one month of orders) and commits 2026-10 with the example plan, then
copies that run's stored rows (rank records and payout lines) into eleven more committed months
of 2026, so the figures read twelve months of a company of that size. Times each figure on
SQLite and PostgreSQL (a database made for the run and dropped afterwards; ``--keep-sqlite FILE
--keep-postgres NAME`` generate the company once and work on a fresh copy in later runs). Before
timing, members without an address are given one, 1 in 20 of them sharing it with another
member, so that the shared-address rule normalises a million addresses and finds groups. The
goal: all of them together in 10 s or less at a million members; each run prints the total
without the flags and with them.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from fractions import Fraction

from scratch import add_keep_options, company_copy, kept  # benchmarks/scratch.py
from sqlalchemy import text

from patronage.clock import DEFAULT_COMPANY_ZONE, Period, period_bounds, zone
from patronage.compensation.core.plan import default_plan_path
from patronage.compensation.runs import PlanSource, commit_period
from patronage.compliance.disclosure import income_disclosure
from patronage.compliance.evidence import load_evidence
from patronage.compliance.flags import FlagRules, load_flags
from patronage.compliance.recruitment import reward_mix
from patronage.compliance.teams import teams_below
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.demo.company import build_company

PERIOD = Period(2026, 10)
TZ = zone(DEFAULT_COMPANY_ZONE)

RUN_COLUMNS = ("plan_name, plan_version, plan_text, facts_digest, committed_at, committed_by, "
               "total_cv, total_paid, cap_applied, volume_mix")
RANK_COLUMNS = "member_id, pv, gv, active, paid_as, title, consumption_cv, promotional_cv, " \
               "customer_cv"
LINE_COLUMNS = "earner_id, bonus, source_kind, source_id, level, volume, rate_bp, amount, " \
               "clawback_of, currency, paid_amount"


def build(url: str, members: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    _, end = period_bounds(PERIOD, TZ)
    t = time.perf_counter()
    build_company(engine, seed=1, members=members, months=1, now=end, history=False,
                  personal=False)
    plan = PlanSource.from_file(default_plan_path())
    commit_period(engine, PERIOD, plan, now=datetime(2026, 11, 2, tzinfo=UTC), actor="bench")
    with engine.begin() as conn:
        source = conn.execute(text("SELECT id FROM commission_runs WHERE period = :p"),
                              {"p": str(PERIOD)}).scalar_one()
        for month in range(1, 13):
            if month == PERIOD.month:
                continue
            period = f"2026-{month:02d}"
            conn.execute(text(f"INSERT INTO commission_runs (period, {RUN_COLUMNS}) "
                              f"SELECT :p, {RUN_COLUMNS} FROM commission_runs WHERE id = :s"),
                         {"p": period, "s": source})
            run = conn.execute(text("SELECT id FROM commission_runs WHERE period = :p"),
                               {"p": period}).scalar_one()
            conn.execute(text(f"INSERT INTO rank_records (run_id, {RANK_COLUMNS}) "
                              f"SELECT :r, {RANK_COLUMNS} FROM rank_records WHERE run_id = :s"),
                         {"r": run, "s": source})
            conn.execute(text(f"INSERT INTO payout_lines (run_id, {LINE_COLUMNS}) "
                              f"SELECT :r, {LINE_COLUMNS} FROM payout_lines WHERE run_id = :s"),
                         {"r": run, "s": source})
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"company of {members:,} members with 12 committed months built in "
          f"{time.perf_counter() - t:.0f}s", flush=True)
    engine.dispose()


def prepare(url: str) -> None:
    """The schema brought up to date and an address for every member (1 in 20 sharing one)."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE members SET address_line1 = CAST(CASE WHEN id % 20 = 0 THEN id - 1 ELSE id "
            "END AS VARCHAR(20)) || ' Main Street', postal_code = '10115', country = 'DE' "
            "WHERE address_line1 IS NULL"))
    engine.dispose()


def run(url: str, label: str) -> None:
    engine = make_engine(url)
    first, last = Period(2026, 1), Period(2026, 12)
    laps: dict[str, float] = {}
    t = time.perf_counter()
    ev = load_evidence(engine, first, last)
    laps["evidence"] = time.perf_counter() - t
    t = time.perf_counter()
    count, _ = teams_below(engine, ev.distributors, Fraction(1, 2))
    laps["teams below 50%"] = time.perf_counter() - t
    t = time.perf_counter()
    rewards = reward_mix(engine, first, last)
    laps["recruitment index"] = time.perf_counter() - t
    t = time.perf_counter()
    d = income_disclosure(engine, 2026, TZ)
    laps["disclosure"] = time.perf_counter() - t
    before = sum(laps.values())
    t = time.perf_counter()
    flags = load_flags(engine, last, FlagRules(), TZ)
    laps["flags"] = time.perf_counter() - t
    total = sum(laps.values())
    lines = ", ".join(f"{k} {v:.2f}s" for k, v in laps.items())
    kinds = ", ".join(f"{k} {sum(1 for f in flags if f.kind == k):,}"
                      for k in sorted({f.kind for f in flags}))
    print(f"{label:10s} {ev.distributors.size:,} distributors, {ev.runs} months, "
          f"{d.participants:,} participants, {count:,} teams below, {len(rewards)} index rows,"
          f" flags: {kinds or 'none'}: without the flags {before:.2f}s, with them {total:.2f}s"
          f" ({lines})", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    add_keep_options(parser)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for kind, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_postgres)):
        if skip:
            continue
        with company_copy(kind, kept(args, kind), lambda url: build(url, args.members)) as url:
            prepare(url)
            for _ in range(args.repeat):
                run(url, kind)


if __name__ == "__main__":
    main()
