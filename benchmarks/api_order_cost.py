"""One API order at a time, in-process: its SQL statements and its CPU time.

    .venv/bin/python benchmarks/api_order_cost.py [--orders 300] [--py-spy FILE]

Builds the company of ``api_orders_load.py`` in a PostgreSQL database made for the run, makes
the app in this process (``create_app``, logs at WARNING as the production server has them) and
posts ``--orders`` orders one after another through Starlette's test client. Prints every
statement one new order sends, with its time (SQLAlchemy's cursor events, and the pool's
checkouts, BEGINs and COMMITs), then per order: the process's CPU time (the client thread
included), the wall-clock time, the statements and the time spent in them. ``--py-spy FILE``
samples this process meanwhile (collapsed stacks; leave the client out with
``spy_breakdown.py --skip TestClient.request``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from api_orders_load import plan_posts, prepare  # benchmarks/, beside this script
from scratch import scratch_database
from sqlalchemy import event
from starlette.testclient import TestClient

from patronage.config import Settings
from patronage.db.engine import make_pooled_engine
from patronage.operations.logs import configure_logging
from patronage.server import create_app

SECRET = "benchmark-secret-key-not-for-production"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--py-spy", metavar="FILE")
    args = parser.parse_args()
    warm = 20
    with scratch_database("postgresql") as url:
        token, buyers, skus = prepare(url, args.members)
        posts, _ = plan_posts(args.orders + warm + 1, buyers, skus)
        seen: set[str] = set()
        posts = [p for p in posts if not (p[0] in seen or seen.add(p[0]))]  # new keys only
        settings = Settings(database_url=url, secret_key=SECRET, log_level="WARNING")
        configure_logging(settings.log_level, settings.log_format)
        engine = make_pooled_engine(url, settings.pool_options())
        app = create_app(settings=settings, engine=engine, migrate=False)
        sent: list[tuple[str, float]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, *_: Any) -> None:
            conn.info["t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            sent.append((" ".join(statement.split())[:100], time.perf_counter() - conn.info["t0"]))

        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, lambda _c, n=name.upper(): sent.append((n, 0.0)))
        event.listen(engine.pool, "checkout", lambda *_: sent.append(("(pool checkout)", 0.0)))

        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            def post(key: str, body: dict[str, Any]) -> None:
                r = client.post("/api/v1/orders", json=body, headers={**auth,
                                                                       "Idempotency-Key": key})
                if r.status_code != 201:
                    raise SystemExit(f"{key}: {r.status_code} {r.text[:200]}")

            for key, body in posts[:warm]:
                post(key, body)
            sent.clear()
            post(*posts[warm])
            print("one new order sends:")
            for statement, seconds in sent:
                print(f"  {seconds * 1000:6.2f} ms  {statement}")
            sent.clear()
            spy = None
            if args.py_spy:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                     str(os.getpid()), "--format", "raw", "--rate", "500", "-o", args.py_spy],
                    stdout=subprocess.DEVNULL)
                time.sleep(1.5)
            timed = posts[warm + 1:warm + 1 + args.orders]
            cpu, wall = time.process_time(), time.perf_counter()
            for key, body in timed:
                post(key, body)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
        engine.dispose()
    n = len(timed)
    statements = [s for s, _ in sent if not s.startswith(("(", "BEGIN", "COMMIT", "ROLLBACK"))]
    print(f"{n} new orders one after another: CPU {cpu / n * 1000:.2f} ms an order (client "
          f"thread included), wall {wall / n * 1000:.2f} ms; {len(statements) / n:.1f} "
          f"statements an order, {sum(t for _, t in sent) / n * 1000:.2f} ms in them; load "
          f"average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
