"""Scheduled jobs: every run of a job (which schedule slot, when it started and finished, its
outcome, duration and error) and, on SQLite, the lease that lets one worker run a job at a time
(PostgreSQL uses an advisory lock instead; see :mod:`patronage.operations.locks`).

A run is ``running`` while it goes, then ``ok`` or ``failed``; a run whose worker died is found
``running`` by the next worker that takes the job's lock and is marked ``interrupted`` before that
worker runs the slot again (every job is idempotent).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

RUN_OUTCOMES = ("running", "ok", "failed", "interrupted")


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("outcome IN ('running', 'ok', 'failed', 'interrupted')",
                        name="outcome"),
        Index("ix_job_runs_job_slot", "job", "scheduled_for"),
        Index("ix_job_runs_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)


class JobLock(Base):
    """A job's lease on SQLite: held by ``holder`` until ``expires_at`` (renewed while the job
    runs); an expired lease is free."""

    __tablename__ = "job_locks"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
