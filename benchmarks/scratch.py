"""Scratch databases for benchmarks: a SQLite file in a temporary folder, or a PostgreSQL
database made for the run and dropped afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from argparse import ArgumentParser, Namespace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from patronage.db.engine import make_engine
from patronage.integrity import check_integrity

ADMIN = os.environ.get("PATRONAGE_BENCH_POSTGRES_URL",
                       "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """The URL of an empty database of ``kind`` ("sqlite" or "postgresql"), gone afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"patronage_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def company_copy(kind: str, keep: str | None,
                 build: Callable[[str], None]) -> Iterator[str]:
    """The URL of a database of ``kind`` holding what ``build(url)`` writes, gone afterwards.

    Without ``keep`` the company is built into a scratch database. With ``keep`` (a SQLite file,
    or a PostgreSQL database name) it is built there once and kept; every run then works on a
    fresh copy of it, so a company that takes minutes to generate is generated once."""
    if keep is None:
        with scratch_database(kind) as url:
            build(url)
            yield url
        return
    if kind == "sqlite":
        if not Path(keep).exists():
            build(f"sqlite:///{keep}")
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copyfile(keep, f"{tmp}/copy.db")
            yield f"sqlite:///{tmp}/copy.db"
        return
    admin = make_engine(ADMIN, isolation_level="AUTOCOMMIT")
    base = ADMIN.rsplit("/", 1)[0]
    copy = f"{keep}_copy_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                        {"n": keep}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{keep}"'))
            build(f"{base}/{keep}")
        # Copied file by file (PostgreSQL 15's default copies through the write-ahead log,
        # which left the timed run starting inside a checkpoint of that copy), then a
        # checkpoint: every run starts from the same state.
        file_copy = conn.dialect.server_version_info >= (15,)
        strategy = " STRATEGY = FILE_COPY" if file_copy else ""
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{keep}"{strategy}'))
        conn.execute(text("CHECKPOINT"))
    try:
        yield f"{base}/{copy}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def add_keep_options(parser: ArgumentParser) -> None:
    """``--keep-sqlite FILE`` and ``--keep-postgres NAME``, for :func:`company_copy`."""
    parser.add_argument("--keep-sqlite", help="Keep the generated SQLite company in this file "
                        "(reused when it exists; the run works on a copy).")
    parser.add_argument("--keep-postgres", help="Keep the generated PostgreSQL company in this "
                        "database (reused when it exists; the run works on a copy).")


def kept(args: Namespace, kind: str) -> str | None:
    """The place ``--keep-sqlite`` or ``--keep-postgres`` named for ``kind``, if any."""
    return args.keep_sqlite if kind == "sqlite" else args.keep_postgres  # type: ignore[no-any-return]


def print_check(engine: Engine, label: str, now: datetime) -> bool:
    """``patronage check`` on the benchmark's company as of ``now``: prints its result and
    time (each group of checks), and returns whether it found no problem."""
    report = check_integrity(engine, now)
    found = ("no problem found" if report.ok else
             f"{report.problems:,} problems: "
             + "; ".join(f"{f.check} {f.count:,}" for f in report.findings))
    print(f"{label:10s} integrity check (patronage check): {found}; "
          f"{sum(report.seconds.values()):.2f}s ("
          + ", ".join(f"{k} {v:.2f}" for k, v in report.seconds.items()) + ")", flush=True)
    return report.ok
