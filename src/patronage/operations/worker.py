"""The worker: looks at every job of the registry, runs each slot that has come and is not done,
under the job's lock, recording the run. ``patronage worker`` calls :func:`run_forever`; tests
and ``patronage worker --once`` call :func:`run_pending`.

A slot that failed is tried again after :data:`RETRY_AFTER`, at most :data:`MAX_FAILURES` times; a
run whose worker died (found ``running`` by whoever next holds the lock) is marked
``interrupted`` and its slot run again."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from patronage.config import Settings
from patronage.operations.jobs import JOBS, Job, JobContext
from patronage.operations.locks import job_lock, wall_clock
from patronage.operations.runs import finish_run, interrupt_running, slot_state, start_run
from patronage.operations.schedule import latest_slot

log = logging.getLogger("patronage.worker")
RETRY_AFTER = timedelta(minutes=5)
MAX_FAILURES = 3


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Ran:
    job: str
    slot: datetime
    outcome: str
    seconds: float
    detail: str
    error: str | None = None


def _due(engine: Engine, job: Job, slot: datetime, now: datetime) -> bool:
    state = slot_state(engine, job.name, slot)
    if state.done or state.failures >= MAX_FAILURES:
        return False
    return state.last_failure is None or now - state.last_failure >= RETRY_AFTER


def run_job(engine: Engine, job: Job, slot: datetime, now: datetime, settings: Settings,
            worker: str) -> Ran:
    """Run one slot of ``job`` (the caller holds its lock) and record it."""
    interrupted = interrupt_running(engine, job.name, now)
    if interrupted:
        log.warning("job interrupted earlier, running again", extra={
            "job": job.name, "slot": slot.isoformat(), "interrupted": interrupted})
    run_id = start_run(engine, job.name, slot, now, worker)
    started = time.perf_counter()
    log.info("job started", extra={"job": job.name, "slot": slot.isoformat()})
    try:
        detail = job.run(JobContext(engine, settings, now, slot))
    except Exception as exc:  # recorded as the run's outcome; the worker goes on
        seconds = time.perf_counter() - started
        error = f"{type(exc).__name__}: {exc}"
        finish_run(engine, run_id, outcome="failed", started=now, seconds=seconds, error=error)
        log.exception("job failed", extra={"job": job.name, "slot": slot.isoformat(),
                                           "duration_ms": round(seconds * 1000)})
        return Ran(job.name, slot, "failed", seconds, "", error)
    seconds = time.perf_counter() - started
    finish_run(engine, run_id, outcome="ok", started=now, seconds=seconds, detail=detail)
    log.info("job finished", extra={"job": job.name, "slot": slot.isoformat(),
                                    "duration_ms": round(seconds * 1000), "detail": detail})
    return Ran(job.name, slot, "ok", seconds, detail)


def run_pending(engine: Engine, now: datetime, settings: Settings, *,
                jobs: Mapping[str, Job] | None = None, worker: str | None = None,
                only: set[str] | None = None,
                lease_clock: Callable[[], datetime] = wall_clock) -> list[Ran]:
    """Run every job whose latest slot at ``now`` has come and is not done (and that no other
    worker is running). Returns what ran. ``lease_clock`` is the wall clock the SQLite leases
    expire by."""
    zone = settings.company_zone()
    worker = worker or worker_name()
    ran = []
    for job in (jobs if jobs is not None else JOBS).values():
        if only is not None and job.name not in only:
            continue
        slot = latest_slot(job.schedule, now, zone)
        if not _due(engine, job, slot, now):
            continue
        with job_lock(engine, job.name, worker, clock=lease_clock) as held:
            if not held or not _due(engine, job, slot, now):
                continue
            ran.append(run_job(engine, job, slot, now, settings, worker))
    return ran


def run_forever(engine: Engine, settings: Settings, clock: Callable[[], datetime], *,
                interval: float = 30.0, stop: threading.Event | None = None,
                jobs: Mapping[str, Job] | None = None) -> None:
    """Run pending jobs every ``interval`` seconds until ``stop`` is set (a job in progress is
    finished first)."""
    stop = stop or threading.Event()
    worker = worker_name()
    log.info("worker started", extra={"worker": worker,
                                      "jobs": ",".join(jobs or JOBS)})
    while not stop.is_set():
        try:
            run_pending(engine, clock(), settings, jobs=jobs, worker=worker)
        except Exception:  # the database away for a moment: try again next round
            log.exception("worker round failed")
        stop.wait(interval)
    log.info("worker stopped", extra={"worker": worker})
