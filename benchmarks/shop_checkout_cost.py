"""One shopper at a time, in-process: the SQL statements of each page and its CPU time.

    .venv/bin/python benchmarks/shop_checkout_cost.py [--shoppers 200] [--py-spy FILE]

Builds the company of ``shop_checkout.py`` in a PostgreSQL database made for the run, makes the
app in this process (``create_app``, logs at WARNING) and walks ``--shoppers`` shoppers one
after another through Starlette's test client as the load benchmark does: the share link, the
shop, one product into the cart, the checkout form, and the paying request. Prints every
statement one paying request sends (with the pool's checkouts, BEGINs and COMMITs), the
statements of each page, then per paying request and per page: the process's CPU time (the
client thread included) and the wall-clock time. ``--py-spy FILE`` samples this process
meanwhile (collapsed stacks).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from scratch import scratch_database
from shop_checkout import prepare  # benchmarks/, beside this script
from sqlalchemy import event
from starlette.testclient import TestClient

from patronage.config import Settings
from patronage.db.engine import make_pooled_engine
from patronage.operations.logs import configure_logging
from patronage.server import create_app

SECRET = "benchmark-secret-key-not-for-production"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([^"]+)"')
PAGES = ("share link", "shop", "cart", "checkout form", "paying request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=200)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--py-spy", metavar="FILE")
    args = parser.parse_args()
    warm = 10
    with scratch_database("postgresql") as url:
        codes, skus = prepare(url, args.members)
        settings = Settings(database_url=url, secret_key=SECRET, log_level="WARNING",
                            base_url="http://testserver")
        configure_logging(settings.log_level, settings.log_format)
        engine = make_pooled_engine(url, settings.pool_options())
        app = create_app(settings=settings, engine=engine, migrate=False)
        sent: list[tuple[str, float]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, *_: Any) -> None:
            conn.info["t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            sent.append((" ".join(statement.split())[:110], time.perf_counter() - conn.info["t0"]))

        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, lambda _c, n=name.upper(): sent.append((n, 0.0)))
        event.listen(engine.pool, "checkout", lambda *_: sent.append(("(pool checkout)", 0.0)))

        cpu: dict[str, float] = defaultdict(float)
        wall: dict[str, float] = defaultdict(float)
        statements: dict[str, int] = defaultdict(int)

        seen: dict[str, list[tuple[str, float]]] = {}

        def timed(page: str, call: Any) -> Any:
            sent.clear()
            c, w = time.process_time(), time.perf_counter()
            answer = call()
            cpu[page] += time.process_time() - c
            wall[page] += time.perf_counter() - w
            statements[page] += sum(1 for s, _ in sent
                                    if not s.startswith(("(", "BEGIN", "COMMIT", "ROLLBACK")))
            seen[page] = list(sent)
            return answer

        def shop(n: int) -> dict[str, list[tuple[str, float]]]:
            with TestClient(app, follow_redirects=False) as http:
                timed("share link", lambda: http.get(f"/join/{codes[n % len(codes)]}"))
                page = timed("shop", lambda: http.get("/shop"))
                csrf = CSRF.search(page.text)
                assert csrf is not None, page.text[:300]
                timed("cart", lambda: http.post("/shop/cart", data={
                    "csrf_token": csrf.group(1), "sku": skus[n % len(skus)], "quantity": "1"}))
                form = timed("checkout form", lambda: http.get("/shop/checkout?plan=once"))
                key = KEY.search(form.text)
                assert key is not None, form.text[:300]
                r = timed("paying request", lambda: http.post("/shop/checkout", data={
                    "csrf_token": csrf.group(1), "key": key.group(1), "plan": "once",
                    "first_name": f"Cost{n}", "last_name": "Run", "email": f"c{n}@cost.example",
                    "phone": "+1 312 555 0100", "address_line1": "1 Load St", "city": "Bench",
                    "region": "CA", "postal_code": "90001", "country": "US"}))
                if r.status_code != 200 or "order no." not in r.text:
                    raise SystemExit(f"checkout {n}: {r.status_code} {r.text[:300]}")
                return seen

        for n in range(warm):
            shop(n)
        last = shop(warm)
        for page in PAGES:
            print(f"the {page} sends:")
            for statement, seconds in last[page]:
                print(f"  {seconds * 1000:6.2f} ms  {statement}")
        cpu.clear(), wall.clear(), statements.clear()
        spy = None
        if args.py_spy:
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                 str(os.getpid()), "--format", "raw", "--rate", "500", "-o", args.py_spy],
                stdout=subprocess.DEVNULL)
            time.sleep(1.5)
        for n in range(warm + 1, warm + 1 + args.shoppers):
            shop(n)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        engine.dispose()
    n = args.shoppers
    print(f"{n} shoppers one after another (client thread included in CPU); load average "
          f"{os.getloadavg()[0]:.2f}")
    for page in PAGES:
        print(f"  {page:15s} CPU {cpu[page] / n * 1000:6.2f} ms, wall {wall[page] / n * 1000:6.2f}"
              f" ms, {statements[page] / n:5.1f} statements")
    total = sum(cpu.values())
    print(f"  a whole visit    CPU {total / n * 1000:6.2f} ms, "
          f"{sum(statements.values()) / n:.1f} statements")


if __name__ == "__main__":
    main()
