"""Orders posted to the REST API under load: none lost, none duplicated.

    .venv/bin/python benchmarks/api_orders_load.py [--orders 10000] [--clients 20] [--workers 1]

Builds a small company (``build_company``, not timed) in a PostgreSQL database made for the run
(dropped afterwards), makes an integration token with ``orders:write``, and starts the production
server (``patronage serve --workers N``) on a free port of 127.0.0.1 against it. Then
``--clients`` concurrent clients post ``--orders``
orders, each with an ``Idempotency-Key``; a tenth of the posts repeat the key (and content) of
another post, sometimes while the first is still in flight. Afterwards it counts the orders in the
database: exactly one per distinct key (none lost, none duplicated), every repeat answered with
the original order. Prints throughput and latency percentiles, and the CPU time the server
processes spent during the posts (user and system, read from ``/proc`` for the server and every
process under it) per post: unlike the latency, that hardly depends on what else the machine
runs. ``--py-spy FILE`` samples the server processes during the posts with py-spy (``--format
raw``: collapsed stacks, one per line with its count). The server is stopped at the end, and the
whole run gives up after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from scratch import scratch_database  # benchmarks/scratch.py, beside this script
from sqlalchemy import func, select, text

from patronage.api.tokens import create_token
from patronage.db.engine import make_engine, transaction
from patronage.db.schema import upgrade
from patronage.db.tables import Order
from patronage.demo.company import build_company

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, members: int) -> tuple[str, list[int], list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    build_company(engine, seed=3, members=members, months=1, now=NOW, history=False,
                  personal=False)
    with transaction(engine) as s:
        _, token = create_token(s, name="load", scopes=["orders:write"], now=NOW,
                                created_by="benchmark")
        buyers = list(s.scalars(text("SELECT id FROM members WHERE status = 'active' "
                                     "ORDER BY id")))
        skus = list(s.scalars(text("SELECT sku FROM products WHERE NOT is_enrollment_pack "
                                   "ORDER BY sku")))
    engine.dispose()
    return token, buyers, skus


def plan_posts(n: int, buyers: list[int], skus: list[str],
               seed: int = 11) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """``n`` posts: 90% new keys, 10% repeats of a key posted elsewhere in the list."""
    rng = np.random.default_rng(seed)
    unique = n - n // 10
    bodies = []
    for i in range(unique):
        k = int(rng.integers(1, 3))
        lines = [{"sku": skus[int(j)], "quantity": int(rng.integers(1, 4))}
                 for j in rng.choice(len(skus), size=k, replace=False)]
        bodies.append((f"load-{i:06d}", {"buyer_id": int(rng.choice(buyers)), "lines": lines,
                                         "placed_at": "2026-10-20T10:00:00Z"}))
    repeats = [bodies[int(i)] for i in rng.integers(0, unique, n - unique)]
    posts = bodies + repeats
    order = rng.permutation(len(posts))
    return [posts[int(i)] for i in order], unique


async def post_all(base: str, token: str, posts: list[tuple[str, dict[str, Any]]],
                   clients: int) -> tuple[list[float], dict[str, set[int]], dict[int, int]]:
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    for p in posts:
        queue.put_nowait(p)
    latencies: list[float] = []
    ids: dict[str, set[int]] = {}
    statuses: dict[int, int] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60.0, headers={
                "Authorization": f"Bearer {token}"}) as http:
            while True:
                try:
                    key, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                r = await http.post("/api/v1/orders", json=body,
                                    headers={"Idempotency-Key": key})
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code in (200, 201):
                    ids.setdefault(key, set()).add(int(r.json()["id"]))
                else:
                    print(f"  {key}: {r.status_code} {r.text[:200]}", file=sys.stderr)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, ids, statuses


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it (Linux ``/proc``)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds used so far by ``pids`` (those still running)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@contextmanager
def server_cpu(pid: int, spy: str | None) -> Iterator[list[float]]:
    """Yields a list that holds, afterwards, the CPU seconds the server's processes used
    inside the block; with ``spy``, py-spy samples them meanwhile into that file."""
    pids = process_tree(pid)
    sampler = None
    if spy:
        sampler = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
             "--subprocesses", "--format", "raw", "--rate", "200", "--nonblocking",
             "-o", spy], stdout=subprocess.DEVNULL)
        time.sleep(1.0)
    before = cpu_seconds(pids)
    out: list[float] = []
    try:
        yield out
    finally:
        out.append(cpu_seconds(pids) - before)
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=60)


def wait_up(base: str, server: subprocess.Popen[bytes], limit: float = 180.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start within {limit:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server processes with "
                        "py-spy into FILE (collapsed stacks)")
    args = parser.parse_args()

    with scratch_database("postgresql") as url:
        token, buyers, skus = prepare(url, args.members)
        posts, unique = plan_posts(args.orders, buyers, skus)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PATRONAGE_DATABASE_URL": url,
               "PATRONAGE_SECRET_KEY": "benchmark-secret-key-not-for-production",
               "PATRONAGE_LOG_LEVEL": "WARNING",
               "PATRONAGE_DB_POOL_SIZE": str(max(5, args.clients // max(1, args.workers)))}
        # The production server: `patronage serve --workers N` (metrics, request ids, logs).
        server = subprocess.Popen(
            [sys.executable, "-m", "patronage", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(args.workers)], env=env)
        try:
            wait_up(base, server)
            load_before = os.getloadavg()
            with server_cpu(server.pid, args.py_spy) as cpu:
                t0 = time.perf_counter()
                latencies, ids, statuses = asyncio.run(asyncio.wait_for(
                    post_all(base, token, posts, args.clients), args.timeout))
                elapsed = time.perf_counter() - t0
            load_after = os.getloadavg()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        engine = make_engine(url)
        with transaction(engine) as s:
            stored = s.scalar(select(func.count()).select_from(Order).where(
                Order.idempotency_key.like("load-%"))) or 0
            distinct = s.scalar(select(func.count(func.distinct(Order.idempotency_key))).where(
                Order.idempotency_key.like("load-%"))) or 0
        engine.dispose()

    lat = np.array(latencies) * 1000
    split = [k for k, v in ids.items() if len(v) != 1]
    print(f"{len(posts):,} posts ({unique:,} distinct keys, {len(posts) - unique:,} repeats) "
          f"by {args.clients} clients to `patronage serve` ({args.workers} worker(s)) on "
          "PostgreSQL")
    print(f"  answers: {dict(sorted(statuses.items()))}")
    print(f"  {elapsed:.1f} s: {len(posts) / elapsed:,.0f} posts/s; latency p50 "
          f"{np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms")
    print(f"  server CPU {cpu[0]:.1f} s: {cpu[0] / len(posts) * 1000:.2f} ms a post; load "
          f"average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"  orders stored: {stored:,} for {distinct:,} distinct keys "
          f"(expected {unique:,}); keys answered with more than one order: {len(split)}")
    created = statuses.get(201, 0)
    ok = (stored == distinct == unique == created and not split
          and sum(statuses.values()) == len(posts) == statuses.get(200, 0) + created)
    print("  none lost, none duplicated" if ok else "  MISMATCH: see the figures above")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
