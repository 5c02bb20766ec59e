"""Each trick of :mod:`patronage.fastpath` timed on and off, for its register.

    .venv/bin/python benchmarks/fastpath.py --members 100000 --engine-members 300000 \
        [--skip-postgres] [--skip-engine]

Generates a company per database (not timed), then prints the best of ``--repeat`` timings of:
- packed reads: ``load_period_facts`` with several fields per 64-bit value, and one per field;
- forked reader (SQLite): the same load with a second process reading a share, and without;
- binary COPY (PostgreSQL): ``write_rows`` of ``--rows`` rows in the binary format, and as text;
- allocator tuning: ``run_engine`` on ``--engine-members`` members (facts built in memory) inside
  ``reused_memory()`` and outside it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scratch import scratch_database  # benchmarks/scratch.py, beside this script
from sqlalchemy import text

from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import default_plan_path, load_plan
from patronage.db import bulk, loaders
from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.demo.company import build_company
from patronage.demo.inmemory import company_facts
from patronage.fastpath.allocator import reused_memory

NOW = datetime(2026, 11, 1, tzinfo=UTC)
START = datetime(2026, 10, 2, tzinfo=UTC)


def compare(repeat: int, on: Callable[[], object], off: Callable[[], object],
            around_on: Callable[[], AbstractContextManager[Any]] = nullcontext,
            around_off: Callable[[], AbstractContextManager[Any]] = nullcontext,
            ) -> tuple[float, float]:
    """Best seconds of ``on`` and of ``off``, run alternately (a busy machine's drift then
    falls on both alike)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for job, around, into in ((on, around_on, times[0]), (off, around_off, times[1])):
            with around():
                t = time.perf_counter()
                job()
                into.append(time.perf_counter() - t)
    return min(times[0]), min(times[1])


@contextmanager
def unpacked() -> Iterator[None]:
    saved = loaders._can_pack
    loaders._can_pack = lambda conn, ids=None: False  # type: ignore[assignment]
    try:
        yield
    finally:
        loaders._can_pack = saved


@contextmanager
def text_copy() -> Iterator[None]:
    saved = bulk.encode
    bulk.encode = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        bulk.encode = saved


def line(trick: str, label: str, timed: tuple[float, float]) -> None:
    on, off = timed
    print(f"{trick:18s} {label:10s} on {on:7.3f}s  off {off:7.3f}s  "
          f"gain {off / on:4.2f}x", flush=True)


def databases(args: argparse.Namespace) -> None:
    for kind in ("sqlite",) if args.skip_postgres else ("sqlite", "postgresql"):
        with scratch_database(kind) as url:
            engine = make_engine(url)
            upgrade(engine)
            build_company(engine, seed=1, members=args.members, months=1, now=NOW,
                          history=False, personal=False)

            def load(parallel: bool, engine: Any = engine) -> object:
                return loaders.load_period_facts(engine, START, NOW, "2026-10",
                                                 parallel=parallel)

            label = f"{kind} {args.members // 1000}k"
            line("packed reads", label, compare(args.repeat, lambda: load(False),
                                                lambda: load(False), around_off=unpacked))
            if kind == "sqlite":
                line("forked reader", label, compare(args.repeat, lambda: load(True),
                                                     lambda: load(False)))
            else:
                copy_in(engine, args)
            engine.dispose()


def copy_in(engine: Any, args: argparse.Namespace) -> None:
    n = args.rows
    rng = np.random.default_rng(1)
    columns = {"a": np.arange(n, dtype=np.int64), "b": rng.integers(0, 10**6, n),
               "c": rng.choice(np.array(["fast_start", "unilevel", "leadership"]), n),
               "d": np.full(n, np.datetime64("2026-11-01T00:00:00", "us"))}

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE copy_bench (a bigint, b integer, c text, "
                              "d timestamptz) ON COMMIT DROP"))
            bulk.write_rows(conn, "copy_bench", columns)

    line("binary COPY", f"postgresql {n // 1000}k rows",
         compare(args.repeat, write, write, around_off=text_copy))


def allocator(args: argparse.Namespace) -> None:
    plan = load_plan(default_plan_path())
    facts = company_facts(args.engine_members, seed=1)
    run_engine(facts, plan)  # the process's first run pays for pages it never touched

    def run() -> object:
        return run_engine(facts, plan)

    line("allocator tuning", f"engine {args.engine_members // 1000}k",
         compare(args.repeat, run, run, around_on=reused_memory))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--engine-members", type=int, default=300_000)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    args = parser.parse_args()
    databases(args)
    if not args.skip_engine:
        allocator(args)


if __name__ == "__main__":
    main()
