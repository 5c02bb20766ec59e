"""Import jobs carry a heartbeat: their progress is read from the database, and a job left
running by a process that died is failed once its heartbeat is older than the timeout (when its
page is shown, when another import starts, when the server starts). Fixed clocks throughout."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.engine import transaction
from patronage.db.import_jobs import ImportJob
from patronage.orders.csv_import import import_members, import_orders, import_products
from patronage.server import create_app
from patronage.web.import_jobs import (
    STALE_AFTER,
    STOPPED,
    Heartbeat,
    expire_stale,
    get_job,
    keep_upload,
    start_job,
    wait_for,
)

pytestmark = pytest.mark.storage
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _running(engine: Engine, *, beat: datetime | None, started: datetime = T0) -> int:
    """A job recorded as running, as a process that then died would have left it."""
    with transaction(engine) as s:
        job = ImportJob(kind="members", filename="people.csv", upload="0" * 32, dry_run=False,
                        status="running", running=1, step="checking", rows_total=900,
                        rows=400, written=0, already=0, started_by="staff",
                        started_at=started, heartbeat_at=beat)
        s.add(job)
        s.flush()
        return job.id


def _job(engine: Engine, job_id: int) -> ImportJob:
    with transaction(engine) as s:
        job = s.get(ImportJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


def test_a_job_is_failed_only_once_its_heartbeat_is_older_than_the_timeout(
        engine: Engine) -> None:
    job_id = _running(engine, beat=T0 + 30 * SECOND)
    assert expire_stale(engine, T0 + 30 * SECOND + STALE_AFTER) == 0  # exactly the timeout
    assert _job(engine, job_id).status == "running"
    assert expire_stale(engine, T0 + 31 * SECOND + STALE_AFTER) == 1
    job = _job(engine, job_id)
    assert (job.status, job.running, job.error) == ("failed", None, STOPPED)
    assert job.finished_at == T0 + 31 * SECOND + STALE_AFTER
    assert "nothing was written" in STOPPED and "upload the file again" in STOPPED
    assert expire_stale(engine, T0 + 2 * STALE_AFTER) == 0  # once


def test_a_job_without_a_heartbeat_yet_counts_from_its_start(engine: Engine) -> None:
    job_id = _running(engine, beat=None, started=T0)
    assert expire_stale(engine, T0 + STALE_AFTER) == 0
    assert expire_stale(engine, T0 + STALE_AFTER + SECOND) == 1
    assert _job(engine, job_id).status == "failed"


def test_the_page_shows_a_stale_job_as_failed_and_a_live_one_from_the_database(
        engine: Engine) -> None:
    live = _running(engine, beat=T0)
    shown = get_job(engine, live, now=T0 + STALE_AFTER)
    assert shown is not None and shown.running
    # Progress as stored, whichever process wrote it (nothing is kept in this one's memory).
    assert (shown.step, shown.rows, shown.rows_total) == ("checking", 400, 900)
    late = get_job(engine, live, now=T0 + STALE_AFTER + SECOND)
    assert late is not None and not late.running
    assert (late.status, late.error, late.step) == ("failed", STOPPED, "")


def test_a_stale_job_no_longer_blocks_the_next_import(engine: Engine) -> None:
    dead = _running(engine, beat=T0)
    later = T0 + STALE_AFTER + SECOND
    upload = keep_upload(engine, b"ref,kind,first_name,joined_at\nH1,distributor,Ann,"
                         b"2026-03-01T00:00:00Z\n", later)
    job_id = start_job(engine, kind="members", upload=upload, filename="h.csv", dry_run=True,
                       now=later, actor="staff", company_zone="UTC",
                       clock=FixedClock(later).now)
    assert _job(engine, dead).status == "failed"
    done = wait_for(engine, job_id)
    assert (done.status, done.rows) == ("done", 1)
    assert _job(engine, job_id).heartbeat_at == later


def test_the_server_fails_stale_jobs_when_it_starts(engine: Engine) -> None:
    stale = _running(engine, beat=T0)
    with transaction(engine) as s:  # one job runs at a time: end it to record another
        s.execute(ImportJob.__table__.update().where(ImportJob.id == stale).values(running=None))
    fresh = _running(engine, beat=T0 + STALE_AFTER)
    with transaction(engine) as s:
        s.execute(ImportJob.__table__.update().where(ImportJob.id == stale).values(running=2))
    create_app(settings=Settings(demo_mode=True, company_timezone="UTC"), engine=engine,
               clock=FixedClock(T0 + STALE_AFTER + SECOND), migrate=False)
    assert _job(engine, stale).status == "failed"
    assert _job(engine, fresh).status == "running"  # its heartbeat is recent enough


def test_the_heartbeat_writes_the_progress_and_the_time(engine: Engine) -> None:
    job_id = _running(engine, beat=T0)
    times = iter([T0 + 5 * SECOND, T0 + 6 * SECOND])
    beat = Heartbeat(engine, job_id, lambda: next(times))
    beat.progress("checking references", 900)
    assert beat.beat()
    job = _job(engine, job_id)
    assert (job.step, job.rows, job.heartbeat_at) == ("checking references", 900,
                                                      T0 + 5 * SECOND)
    with transaction(engine) as s:  # the job ended: a late beat changes nothing
        s.execute(ImportJob.__table__.update().where(ImportJob.id == job_id)
                  .values(running=None, status="done"))
    beat.progress("writing", 901)
    assert beat.beat()
    job = _job(engine, job_id)
    assert (job.status, job.rows, job.heartbeat_at) == ("done", 900, T0 + 5 * SECOND)


def test_heartbeats_committed_during_an_import_do_not_break_it(engine: Engine,
                                                                tmp_path: Path) -> None:
    """On SQLite another connection's commit between the import's first read of the store and
    its writes would fail the import: it reads the store only once it holds the write lock
    (a beat meanwhile waits a moment, gives up and tries again later)."""
    import_products(engine, "sku,name,retail_price,wholesale_price,qv,cv\n"
                            "TEA,Green tea,12.00,9.00,8,7\n")
    job_id = _running(engine, beat=T0)
    beat = Heartbeat(engine, job_id, FixedClock(T0).now)
    written: list[str] = []

    def progress(step: str, rows: int) -> None:
        beat.progress(step, rows)
        if beat.beat():
            written.append(step)

    members = tmp_path / "m.csv"
    members.write_text("ref,kind,first_name,sponsor_ref,joined_at\n" + "".join(
        f"B{i},distributor,Bo{i},{'' if i == 0 else 'B0'},2026-03-01T00:00:00Z\n"
        for i in range(12_000)), encoding="utf-8")
    orders = tmp_path / "o.csv"
    orders.write_text("order_key,buyer_ref,placed_at,sku,quantity\n" + "".join(
        f"K{i},B{i % 12_000},2026-11-19T10:00:00Z,TEA,1\n" for i in range(12_000)),
        encoding="utf-8")
    assert import_members(engine, members, now=T0, progress=progress).written == 12_000
    assert "checking" in written  # beats were committed while the members were read
    written.clear()
    assert import_orders(engine, orders, now=T0, progress=progress).written == 12_000
    assert "checking" in written  # and while the orders were
    with transaction(engine) as s:
        assert s.scalar(select(ImportJob.rows).where(ImportJob.id == job_id)) == 12_000


def test_showing_a_live_job_writes_nothing_so_it_never_waits_for_the_import(
        engine: Engine) -> None:
    """A running SQLite import holds the write lock while it checks and writes: the page polled
    meanwhile only reads (it writes only to fail a stale job)."""
    job_id = _running(engine, beat=T0)
    with engine.connect() as importing, importing.begin():
        importing.exec_driver_sql("UPDATE members SET id = id WHERE 1 = 0")  # the write lock
        began = time.monotonic()
        shown = get_job(engine, job_id, now=T0 + 10 * SECOND)
        assert shown is not None and shown.running
        assert time.monotonic() - began < 5.0  # SQLite would wait 30 s for the lock
