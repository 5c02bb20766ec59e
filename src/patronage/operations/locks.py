"""One worker at a time per job: on PostgreSQL a session advisory lock (released by the server
when the holder's connection closes, so a killed worker never leaves it held); on SQLite a lease
row in ``job_locks``, renewed while the job runs and free once expired."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from patronage.db.engine import transaction
from patronage.db.job_runs import JobLock

#: How long a SQLite lease lasts without renewal (a dead worker's lease frees after this).
LEASE = timedelta(seconds=90)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def advisory_key(job: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` from the job's name."""
    digest = hashlib.blake2b(f"patronage.job:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def job_lock(engine: Engine, job: str, holder: str, *, lease: timedelta = LEASE,
             clock: Callable[[], datetime] = wall_clock) -> Iterator[bool]:
    """Try to take ``job``'s lock for ``holder``; yields whether it was taken (never waits)."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, job) as held:
            yield held
        return
    with _lease(engine, job, holder, lease, clock) as held:
        yield held


@contextmanager
def _advisory(engine: Engine, job: str) -> Iterator[bool]:
    key = advisory_key(job)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def take_lease(engine: Engine, job: str, holder: str, until: datetime, now: datetime) -> bool:
    """Take or renew ``job``'s lease for ``holder`` until ``until`` unless another holder's lease
    is still running at ``now``. Writes before it reads, so that on SQLite the transaction takes
    the write lock first (waiting its turn) and never has to upgrade a stale read."""
    try:
        with transaction(engine) as session:
            taken = session.execute(
                update(JobLock)
                .where(JobLock.job == job,
                       or_(JobLock.holder == holder, JobLock.expires_at <= now))
                .values(holder=holder, expires_at=until))
            if getattr(taken, "rowcount", 0) == 1:
                return True
            if session.scalar(select(JobLock.job).where(JobLock.job == job)) is not None:
                return False
            session.add(JobLock(job=job, holder=holder, expires_at=until))
            return True
    except IntegrityError:  # another worker inserted the row first
        return False


def release_lease(engine: Engine, job: str, holder: str) -> None:
    with transaction(engine) as session:
        session.execute(delete(JobLock).where(JobLock.job == job, JobLock.holder == holder))


@contextmanager
def _lease(engine: Engine, job: str, holder: str, lease: timedelta,
           clock: Callable[[], datetime]) -> Iterator[bool]:
    now = clock()
    if not take_lease(engine, job, holder, now + lease, now):
        yield False
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease.total_seconds() / 3):
            moment = clock()
            take_lease(engine, job, holder, moment + lease, moment)

    renewer = threading.Thread(target=renew, name=f"lease-{job}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        release_lease(engine, job, holder)
