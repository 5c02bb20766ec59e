"""Shoppers checking out through the real server: none lost, none duplicated, p95 reported.

    .venv/bin/python benchmarks/shop_checkout.py [--shoppers 50] [--seconds 60]

Builds a small company (``build_company``, not timed) in a PostgreSQL database made for the run
(dropped afterwards), gives every distributor a share code, and starts ``uvicorn`` on a free
port of 127.0.0.1 against it (the simulated gateway approves every charge). Then ``--shoppers``
concurrent shoppers, each a browser of its own (cookies), repeat for ``--seconds`` seconds:
open a distributor's share link, open the shop, put one or two products in the cart, open the
checkout and pay. One checkout in ten is submitted twice with the same key (a double click). At
the end it counts, in the database, the checkouts, orders, new customers and charges under the
keys the shoppers used: one of each per key that was answered with a confirmation, none for a
key that was not, and no key with two. Prints the count and the latency percentiles of the
paying request (the one that charges and writes), and the CPU time the server used meanwhile
(``/proc``, as in ``api_orders_load.py``; ``--py-spy FILE`` samples it), counted after each
page was asked for a few times (refused where it would write), so that every server process
has built its routes before the clock starts.

``--think SECONDS`` is a shopper's mean pause before each page (drawn from an exponential
distribution, seeded per shopper), as a person reads a page before the next: 50 shoppers
pausing as people do are the realistic load. The default, 0, is no pause at all: every shopper
a robot asking for the next page the moment the last one came, which saturates the server and
measures its capacity (the latency is then mostly the queue for it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import numpy as np
from api_orders_load import free_port, server_cpu, wait_up  # benchmarks/, beside this script
from scratch import scratch_database
from sqlalchemy import func, select, text

from patronage.db.autoship import SimulatedCharge
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.db.shop import Checkout
from patronage.db.tables import Order
from patronage.demo.company import build_company
from patronage.shop.links import share_code

NOW = datetime.now(UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([^"]+)"')
#: Requests other than the paying one (share link, shop, cart, checkout form), all shoppers.
VISITS = [0]


def prepare(url: str, members: int) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    build_company(engine, seed=5, members=members, months=1, now=NOW, history=False,
                  personal=False)
    with transaction(engine) as s:
        distributors = list(s.scalars(text(
            "SELECT id FROM members WHERE kind = 'distributor' AND status = 'active' "
            "ORDER BY id LIMIT 200")))
        codes = [share_code(s, d, now=NOW) for d in distributors]
        skus = list(s.scalars(text("SELECT sku FROM products WHERE NOT is_enrollment_pack "
                                   "AND active ORDER BY sku")))
    engine.dispose()
    return codes, skus


async def shopper(n: int, base: str, codes: list[str], skus: list[str], until: float,
                  latencies: list[float], confirmed: dict[str, set[str]],
                  failed: dict[str, int], think: float = 0.0) -> None:
    rng = np.random.default_rng(n)
    pace = np.random.default_rng(1_000_000 + n)

    async def pause() -> None:
        if think > 0:
            await asyncio.sleep(float(pace.exponential(think)))

    i = 0
    await pause()  # shoppers arrive spread out, not all at once
    while time.monotonic() < until:
        i += 1
        async with httpx.AsyncClient(base_url=base, timeout=60.0) as http:
            await http.get(f"/join/{codes[int(rng.integers(len(codes)))]}")
            await pause()
            page = await http.get("/shop")
            VISITS[0] += 2
            csrf = CSRF.search(page.text)
            if csrf is None:
                failed["no form"] = failed.get("no form", 0) + 1
                continue
            for sku in rng.choice(skus, size=int(rng.integers(1, 3)), replace=False):
                VISITS[0] += 1
                await pause()
                await http.post("/shop/cart", data={"csrf_token": csrf.group(1),
                                                    "sku": str(sku), "quantity": "1"})
            await pause()
            form = await http.get("/shop/checkout?plan=once")
            VISITS[0] += 1
            key = KEY.search(form.text)
            assert key is not None
            data = {"csrf_token": csrf.group(1), "key": key.group(1), "plan": "once",
                    "first_name": f"Shopper{n}", "last_name": f"Run{i}",
                    "email": f"s{n}-{i}@load.example", "phone": f"+1 312 555 {n % 100:04d}",
                    "address_line1": "1 Load St", "city": "Bench", "region": "CA",
                    "postal_code": "90001", "country": "US"}
            await pause()
            for _ in range(2 if i % 10 == 0 else 1):  # a double click now and then
                t0 = time.perf_counter()
                r = await http.post("/shop/checkout", data=data)
                latencies.append(time.perf_counter() - t0)
                number = re.search(r"order no\. (\d+)", r.text)
                if r.status_code == 200 and number:
                    confirmed.setdefault(key.group(1), set()).add(number.group(1))
                else:
                    label = str(r.status_code)
                    failed[label] = failed.get(label, 0) + 1
        if time.monotonic() < until:
            await pause()  # before the next visit


def warm_up(base: str, code: str, rounds: int = 10) -> None:
    """Each page a few times before the clock starts (refused where it would write), so that
    every server process has built its routes: the figures are of a server that has run."""
    with httpx.Client(base_url=base, timeout=60.0) as http:
        for _ in range(rounds):
            http.get(f"/join/{code}")
            http.get("/shop")
            http.post("/shop/cart", data={})  # no CSRF token: refused, nothing written
            http.get("/shop/checkout?plan=once")
            http.post("/shop/checkout", data={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=0.0, metavar="SECONDS",
                        help="a shopper's mean pause before each page (exponential, seeded); "
                        "0: none, the server saturated")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server with py-spy into "
                        "FILE (collapsed stacks)")
    args = parser.parse_args()

    with scratch_database("postgresql") as url:
        codes, skus = prepare(url, args.members)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PATRONAGE_DATABASE_URL": url,
               "PATRONAGE_SECRET_KEY": "benchmark-secret-key-not-for-production",
               "PATRONAGE_BASE_URL": base}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "patronage.server:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
             "--no-access-log", "--log-level", "warning"], env=env)
        latencies: list[float] = []
        confirmed: dict[str, set[str]] = {}
        failed: dict[str, int] = {}
        try:
            wait_up(base, server)
            warm_up(base, codes[0])
            load_before = os.getloadavg()
            t0 = time.perf_counter()
            until = time.monotonic() + args.seconds

            async def run() -> None:
                await asyncio.gather(*(shopper(n, base, codes, skus, until, latencies,
                                               confirmed, failed, args.think)
                                       for n in range(args.shoppers)))

            with server_cpu(server.pid, args.py_spy) as cpu:
                asyncio.run(run())
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        engine = make_engine(url)
        with transaction(engine) as s:
            checkouts = s.scalar(select(func.count()).select_from(Checkout)) or 0
            orders = s.scalar(select(func.count()).select_from(Order).where(
                Order.idempotency_key.like("shop:%"))) or 0
            charges = s.scalar(select(func.count()).select_from(SimulatedCharge).where(
                SimulatedCharge.key.like("shop:%"))) or 0
            shoppers = s.scalar(text(
                "SELECT count(*) FROM members WHERE email LIKE '%@load.example'")) or 0
            keys = set(s.scalars(select(Checkout.key)))
        engine.dispose()

    lat = np.array(latencies) * 1000
    split = [k for k, v in confirmed.items() if len(v) != 1]
    answered = {f"shop:{k}" for k in confirmed}
    think = (f"a mean pause of {args.think:g} s before each page (exponential, seeded)"
             if args.think > 0 else "no pause between pages (saturation)")
    requests = len(latencies) + VISITS[0]
    print(f"{args.shoppers} shoppers for {args.seconds:.0f} s through uvicorn "
          f"({args.workers} worker(s)) on PostgreSQL, {think}: {len(latencies):,} paying "
          f"requests ({len(confirmed):,} checkouts confirmed) in {elapsed:.1f} s; "
          f"{requests / elapsed:.1f} requests/s of any kind")
    print(f"  paying request p50 {np.percentile(lat, 50):.1f} ms, p95 "
          f"{np.percentile(lat, 95):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, max "
          f"{lat.max():.1f} ms; refused or failed: {failed or 'none'}")
    print(f"  server CPU {cpu[0]:.1f} s: {cpu[0] / len(latencies) * 1000:.1f} ms per paying "
          f"request, {cpu[0] / requests * 1000:.2f} ms per request ({requests:,} in all); load "
          f"average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"  stored: {checkouts:,} checkouts, {orders:,} orders, {shoppers:,} customers, "
          f"{charges:,} charges; keys confirmed with two different orders: {len(split)}")
    ok = (checkouts == orders == shoppers == charges == len(confirmed) and not split
          and keys == answered)
    print("  none lost, none duplicated" if ok else "  MISMATCH: see the figures above")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
