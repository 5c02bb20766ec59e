"""Where a server's time goes, from py-spy's collapsed stacks.

    .venv/bin/python benchmarks/spy_breakdown.py FILE [FILE...] [--per N]

FILE is what ``py-spy record --format raw`` writes (``benchmarks/api_orders_load.py --py-spy
FILE`` records the server processes during the posts): one line per distinct stack, frames
separated by ``;``, then the number of samples. Each sample is put in one part of a request
(the first rule that matches): waiting for
PostgreSQL, threads handing work over and the event loop idle (by the innermost frame); then the
token check and committing (whatever they do); then by the innermost frame that tells: the SQL
driver, SQLAlchemy, validation and serialisation, logging, metrics, the order's own logic, the
hand-over of work to a thread, the framework and middleware, the HTTP server. Prints each part's
share of the samples and, with ``--per N`` (the requests served), its samples per request.
"""

from __future__ import annotations

import argparse
from collections import Counter

WAITS = (
    ("waiting: PostgreSQL answering", ("psycopg/connection.py", "psycopg/waiting.py",
                                       "wait_c", "Connection.wait")),
    ("waiting: thread hand-over (locks, queues)", ("threading.py", "queue.py")),
    ("waiting: event loop idle", ("selectors.py",)),
)
#: Parts named by a frame anywhere in the stack (whatever the thread does under them).
STAGES = (
    ("token check (auth)", ("get_principal", "authenticate ")),
    ("commit", ("Session.commit", "SessionTransaction.commit", "Connection.commit")),
)
#: Parts named by the innermost frame that matches one.
PARTS = (
    ("SQL: driver (psycopg)", ("psycopg/",)),
    ("SQL: SQLAlchemy (ORM, statements, rows)", ("sqlalchemy/",)),
    ("validation and serialisation (pydantic)", ("pydantic", "serialize_response",
                                                 "_validate", "jsonable_encoder",
                                                 "request_body_to_args", "json/")),
    ("logging", ("logging/", "patronage/operations/logs.py")),
    ("metrics", ("prometheus_client", "patronage/operations/metrics.py")),
    ("the order's own logic (patronage)", ("patronage/orders", "patronage/markets",
                                           "patronage/api/orders.py", "numpy")),
    ("handing work to a thread and back (wake-ups)", ("_write_to_self", "_read_from_self",
                                                      "call_soon_threadsafe",
                                                      "run_sync_in_worker_thread")),
    ("the process supervisor (uvicorn's main process)", ("multiprocessing/",)),
    ("framework and middleware (FastAPI, Starlette, anyio)", (
        "fastapi/", "starlette/", "anyio/", "patronage/server.py",
        "patronage/operations/http.py", "patronage/api/deps.py", "patronage/web/")),
    ("HTTP server (uvicorn, h11, asyncio transport)", ("uvicorn/", "h11/", "httptools",
                                                       "uvloop", "asyncio/")),
)


def part_of(frames: list[str]) -> str:
    leaf = frames[-1]
    for name, marks in WAITS:
        if any(m in leaf for m in marks):
            return name
    for name, marks in STAGES:
        if any(m in f for f in frames for m in marks):
            return name
    for frame in reversed(frames):
        for name, marks in PARTS:
            if any(m in frame for m in marks):
                return name
    return "framework, middleware and the rest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--per", type=int, default=0, help="requests served in the recording")
    parser.add_argument("--skip", action="append", default=[], metavar="TEXT",
                        help="leave out stacks with a frame containing TEXT (e.g. the client "
                        "thread of an in-process run: TestClient.request)")
    args = parser.parse_args()
    for path in args.files:
        parts: Counter[str] = Counter()
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                if stack and not any(t in stack for t in args.skip):
                    parts[part_of(stack.split(";"))] += int(count)
        total = sum(parts.values())
        busy = sum(v for k, v in parts.items() if not k.startswith("waiting"))
        print(f"{path}: {total:,} samples, {busy:,} not waiting")
        for name, n in sorted(parts.items(), key=lambda kv: -kv[1]):
            share = f"{n / busy * 100:5.1f}% of busy" if not name.startswith("waiting") else ""
            per = f"  {n / args.per:6.3f}/request" if args.per else ""
            print(f"  {n / total * 100:5.1f}%  {share:>13}{per}  {name}")


if __name__ == "__main__":
    main()
