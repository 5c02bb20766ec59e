"""Dashboard pages on a company of a million members: p50 and p95 per page.

    .venv/bin/python benchmarks/web_pages.py                      # 1,000,000 members
    .venv/bin/python benchmarks/web_pages.py --members 50000 --requests 20
    .venv/bin/python benchmarks/web_pages.py --db /tmp/web_bench.db  # reuse a generated file
    .venv/bin/python benchmarks/web_pages.py --members 100000 --postgresql  # on PostgreSQL

Builds the company in bulk into a scratch SQLite file (``patronage generate``'s writer: members,
the sponsor tree, customers and three months of orders), commits the months before the current
one (as a company that closes its months has them), fits customer values (for the customer list
and Today's at-risk list), plans appreciation tasks for the chosen distributor's customers and
counts the dashboard's figures and the open period's volumes (as the ``company-figures`` and
``open-volumes`` jobs do every 15 minutes).
Then it signs in as the distributor with the most customers and times, through the whole app
(FastAPI TestClient: routing, session cookie, queries, templates), Today, My customers, My
business, the first page of My team and, signed in as staff, a member search. Every page is
requested ``--requests`` times after one warm-up request; the first request of each page is
reported separately (cold caches).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from scratch import scratch_database  # benchmarks/scratch.py, beside this script
from sqlalchemy import Engine, func, select

from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.accounts import Account
from patronage.db.care import Touch
from patronage.db.compensation import CommissionRun
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.db.tables import Member, Order
from patronage.demo.company import build_company
from patronage.server import create_app
from patronage.web.accounts import create_account

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
PASSWORD = "benchmark password"


def _largest(engine: Engine, column: str) -> int:
    """The distributor with the most customers (``owner_id``) or front-line (``sponsor_id``)."""
    key = getattr(Member, column)
    with transaction(engine) as s:
        row = s.execute(select(key, func.count()).where(key.is_not(None)).group_by(key)
                        .order_by(func.count().desc()).limit(1)).one()
    return int(row[0])


def _about(engine: Engine, customers: int) -> int:
    """A distributor with about ``customers`` customers (the nearest above)."""
    with transaction(engine) as s:
        counts = select(Member.owner_id.label("d"), func.count().label("n")).where(
            Member.owner_id.is_not(None)).group_by(Member.owner_id).subquery()
        row = s.execute(select(counts.c.d).where(counts.c.n >= customers)
                        .order_by(counts.c.n, counts.c.d).limit(1)).one()
    return int(row[0])


def _commit_past_months(engine: Engine, months: int) -> None:
    """The months before NOW's are committed, as a company that closes its months has them
    (pages add committed months' volumes from the close's records)."""
    from patronage.clock import Period
    from patronage.compensation.core.plan import default_plan_path
    from patronage.compensation.plan_versions import plan_in_force, set_plan
    from patronage.compensation.runs import commit_period
    from patronage.db.compensation import CommissionRun

    current = Period.containing(NOW, UTC)
    periods = [current]
    for _ in range(months):
        periods.insert(0, periods[0].previous())
    if plan_in_force(engine, periods[0]) is None:  # the company's plan: the example plan
        set_plan(engine, default_plan_path().read_text(encoding="utf-8"), periods[0],
                 source="example.toml", actor="benchmark", now=NOW)
    for period in periods[:-1]:
        with transaction(engine) as s:
            if s.scalar(select(CommissionRun.id).where(CommissionRun.period == str(period))):
                continue
        started = time.perf_counter()
        commit_period(engine, period, None, now=NOW, actor="benchmark")
        print(f"committed {period} in {time.perf_counter() - started:.1f} s")


def _prepare(engine: Engine, members: int, months: int) -> tuple[int, int, int]:
    with transaction(engine) as s:
        have = s.scalar(select(func.count()).select_from(Member)) or 0
    if have == 0:
        started = time.perf_counter()
        build_company(engine, seed=1, members=members, months=months, now=NOW,
                      history=False, personal=False)
        print(f"built {members:,} members in {time.perf_counter() - started:.1f} s")
    else:
        print(f"reusing {have:,} members")
    _commit_past_months(engine, months)
    from patronage.value.service import fit_values, latest_run

    with transaction(engine) as s:
        fitted = latest_run(s) is not None
    if not fitted:
        started = time.perf_counter()
        try:
            fit_values(engine, NOW)
            print(f"fitted customer values in {time.perf_counter() - started:.1f} s")
        except Exception as exc:  # the pages still work without values; say so
            print(f"customer values NOT fitted ({type(exc).__name__}: {exc}); the pages are "
                  "timed without the value columns")
    from patronage.web.views.figures import count_figures, latest_figures

    with transaction(engine) as s:
        counted = latest_figures(s) is not None
    if not counted:  # the company-figures job counts them every 15 minutes
        started = time.perf_counter()
        count_figures(engine, NOW)
        print(f"counted the dashboard's figures in {time.perf_counter() - started:.1f} s")
    # The open-volumes job counts the open period's volumes every 15 minutes; the pages add
    # the orders and refunds written after the count.
    from patronage.compensation.open_volumes import count_open_volumes

    started, cpu = time.perf_counter(), time.process_time()
    mark, counted_members = count_open_volumes(engine, NOW, UTC)
    print(f"counted the open period's volumes ({counted_members:,} members, {mark.period}) in "
          f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} CPU s)")
    distributor, leader = _largest(engine, "owner_id"), _largest(engine, "sponsor_id")
    typical = _about(engine, 100)
    from patronage.db.accounts import Account

    wanted = [("dist@bench.example", "distributor", distributor),
              ("leader@bench.example", "distributor", leader),
              ("typical@bench.example", "distributor", typical),
              ("staff@bench.example", "staff", None)]
    with transaction(engine) as s:
        for email, role, member in wanted:
            if s.scalar(select(Account.id).where(Account.email == email)) is None:
                create_account(s, email=email, password=PASSWORD, role=role, member_id=member,
                               now=NOW)
        for who in {distributor, typical}:
            if s.scalar(select(func.count()).select_from(Touch).where(
                    Touch.owner_id == who, Touch.rule_key == "bench")):
                continue
            customers = list(s.scalars(select(Member.id).where(Member.owner_id == who)
                                       .limit(30)))
            s.add_all([Touch(member_id=c, owner_id=who, rule_key="bench", occasion="call",
                             occasion_key=str(c), channel="task", template="call",
                             priority=50, status="planned",
                             due_at=NOW + timedelta(hours=i), created_at=NOW, summary="Call")
                       for i, c in enumerate(customers)])
    return distributor, leader, typical


def _client(app: object, email: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    page = client.get("/login").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return client


def _time(client: TestClient, url: str, n: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    r = client.get(url)
    first = time.perf_counter() - started
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200
    return first, times


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(url: str, members: int, months: int, requests: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    distributor, leader, typical = _prepare(engine, members, months)
    with transaction(engine) as s:
        total = s.scalar(select(func.count()).select_from(Member)) or 0
        print(f"{total:,} members")
        for who, label in ((distributor, "most customers"), (leader, "largest front line"),
                           (typical, "about 100 customers")):
            owned = s.scalar(select(func.count()).select_from(Member).where(
                Member.owner_id == who)) or 0
            front = s.scalar(select(func.count()).select_from(Member).where(
                Member.sponsor_id == who)) or 0
            print(f"distributor {who} ({label}): {owned} customers, {front} front-line")
    app = create_app(settings=Settings(secret_key="benchmark-secret-0123456789abcdef",
                                       company_timezone="UTC"), engine=engine,
                     clock=FixedClock(NOW), migrate=False)
    dist, staff = _client(app, "dist@bench.example"), _client(app, "staff@bench.example")
    with transaction(engine) as s:
        phone = s.scalar(select(Member.phone).where(Member.phone.is_not(None)).limit(1)) or "1"
        order = s.scalar(select(func.max(Order.id))) or 1
        run = s.scalar(select(func.max(CommissionRun.id))) or 1
        buyer = s.scalar(select(Order.buyer_id).join(Member, Member.id == Order.buyer_id)
                         .where(Member.kind != "distributor").order_by(Order.id.desc())
                         .limit(1))
        if buyer is not None and s.scalar(select(Account.id).where(
                Account.email == "customer@bench.example")) is None:
            create_account(s, email="customer@bench.example", password=PASSWORD,
                           role="customer", member_id=buyer, now=NOW)
    customer = _client(app, "customer@bench.example")
    lead, usual = _client(app, "leader@bench.example"), _client(app, "typical@bench.example")
    pages = [("Today", dist, "/today"), ("My customers", dist, "/customers"),
             ("My business", dist, "/business"), ("My business (leader)", lead, "/business"),
             ("Today (100 cust.)", usual, "/today"),
             ("My customers (100 c.)", usual, "/customers"),
             ("My business (100 c.)", usual, "/business"),
             ("My team (leader, p. 1)", lead, "/team"),
             ("My team (leader, lvl 2)", lead, "/team?level=2"),
             ("Member search (staff)", staff, "/company/members?q=Ann"),
             ("Member by id (staff)", staff, f"/company/members?q={leader}"),
             ("Member by phone (staff)", staff, f"/company/members?q={phone}"),
             ("Member by last name", staff, "/company/members?q=Sm"),
             ("Distributor page (staff)", staff, f"/company/members/{leader}"),
             ("Order page (staff)", staff, f"/company/orders/{order}"),
             ("Orders (staff)", staff, "/company/orders"),
             ("Dashboard (staff)", staff, "/company"),
             ("Committed run (staff)", staff, f"/company/runs/{run}"),
             ("My account (customer)", customer, "/me")]
    print(f"\n{'page':<24}{'first ms':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}"
          f"   ({requests} requests each)")
    worst = 0.0
    for name, client, path in pages:
        first, times = _time(client, path, requests)
        p95 = _p(times, 95)
        worst = max(worst, p95)
        print(f"{name:<24}{first * 1000:>10.1f}{_p(times, 50) * 1000:>10.1f}{p95 * 1000:>10.1f}"
              f"{max(times) * 1000:>10.1f}")
    print(f"\nworst p95: {worst * 1000:.1f} ms (target: under 150 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=3,
                        help="months of orders (about one per member each)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--db", type=Path, help="a SQLite file to build into (or reuse)")
    parser.add_argument("--url", help="a database URL to build into (or reuse), e.g. an empty "
                        "PostgreSQL database: postgresql+psycopg://postgres@127.0.0.1/web")
    parser.add_argument("--postgresql", action="store_true",
                        help="build into a scratch PostgreSQL database (dropped afterwards)")
    args = parser.parse_args()
    # The company's months in UTC, for the closes as for the pages (the app below says so too).
    os.environ["PATRONAGE_COMPANY_TIMEZONE"] = "UTC"
    if args.url:
        run(args.url, args.members, args.months, args.requests)
        return
    if args.postgresql:
        with scratch_database("postgresql") as url:
            run(url, args.members, args.months, args.requests)
        return
    if args.db:
        run(f"sqlite:///{args.db}", args.members, args.months, args.requests)
        return
    with scratch_database("sqlite") as url:
        run(url, args.members, args.months, args.requests)


if __name__ == "__main__":
    main()
