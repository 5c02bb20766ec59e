"""The recorded runs of the scheduled jobs: started, finished, interrupted; what staff see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from patronage.db.engine import transaction
from patronage.db.job_runs import JobRun
from patronage.languages import N_

#: A run's outcome in the words of the jobs page.
OUTCOME_WORDS = (N_("running"), N_("ok"), N_("failed"), N_("interrupted"))


@dataclass(frozen=True)
class SlotState:
    """What is recorded of one job's slot: done, how many attempts failed, the last failure."""

    done: bool
    failures: int
    last_failure: datetime | None


def slot_state(engine: Engine, job: str, slot: datetime) -> SlotState:
    with transaction(engine) as session:
        rows = session.execute(
            select(JobRun.outcome, func.count(), func.max(JobRun.finished_at))
            .where(JobRun.job == job, JobRun.scheduled_for == slot)
            .group_by(JobRun.outcome)).all()
    by = {outcome: (count, last) for outcome, count, last in rows}
    failed = by.get("failed", (0, None))
    return SlotState(done="ok" in by, failures=int(failed[0]), last_failure=failed[1])


def interrupt_running(engine: Engine, job: str, now: datetime) -> int:
    """Mark ``job``'s runs still ``running`` as ``interrupted`` (called holding the job's lock:
    whoever ran them has died). Returns how many."""
    with transaction(engine) as session:
        result = session.execute(
            update(JobRun).where(JobRun.job == job, JobRun.outcome == "running")
            .values(outcome="interrupted", finished_at=now,
                    error="the worker stopped before the run finished; run again"))
        return int(getattr(result, "rowcount", 0) or 0)


def start_run(engine: Engine, job: str, slot: datetime, now: datetime, worker: str) -> int:
    with transaction(engine) as session:
        run = JobRun(job=job, scheduled_for=slot, started_at=now, outcome="running",
                     worker=worker, detail="")
        session.add(run)
        session.flush()
        return run.id


def finish_run(engine: Engine, run_id: int, *, outcome: str, started: datetime,
               seconds: float, detail: str = "", error: str | None = None) -> None:
    # One UPDATE (no read first): on SQLite the transaction takes the write lock at once.
    with transaction(engine) as session:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            outcome=outcome, duration_ms=round(seconds * 1000),
            finished_at=started + timedelta(seconds=seconds), detail=detail[:2000],
            error=error[:2000] if error else None))


def recent_runs(session: Session, *, limit: int = 100, job: str | None = None) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def latest_by_job(session: Session) -> dict[str, JobRun]:
    """Each job's latest finished or running run."""
    latest = (select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job)
              .subquery())
    rows = session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id))
    return {run.job: run for run in rows}
