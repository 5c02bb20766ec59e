"""The scheduled jobs' worker: each slot of each job runs once however many workers run, under
the job's lock (PostgreSQL advisory lock, SQLite lease); a run killed half-way is finished by
the next worker; every run is recorded."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from patronage.config import Settings
from patronage.db.engine import make_engine, transaction
from patronage.db.job_runs import JobRun
from patronage.operations.jobs import JOBS, Job, JobContext
from patronage.operations.locks import job_lock
from patronage.operations.schedule import Daily, Every, latest_slot
from patronage.operations.worker import run_pending

pytestmark = pytest.mark.storage
SETTINGS = Settings(company_timezone="America/Chicago")
START = datetime(2026, 12, 7, 9, 58, tzinfo=UTC)
FORK = multiprocessing.get_context("fork")


def _marking_job(marks: Path, seconds: float) -> Job:
    """A job that appends its slot to ``marks`` (what it did) after ``seconds`` of work."""
    def run(ctx: JobContext) -> str:
        time.sleep(seconds)
        with marks.open("a") as f:
            f.write(f"{ctx.slot.isoformat()} {os.getpid()}\n")
        return "marked"
    return Job("marker", Every(5), run, "test job")


def _daily_job(marks: Path) -> Job:
    def run(ctx: JobContext) -> str:
        time.sleep(0.3)
        with marks.open("a") as f:
            f.write(f"{ctx.slot.isoformat()} {os.getpid()}\n")
        return "daily"
    return Job("daily", Daily(datetime.min.time().replace(hour=3)), run, "test job")


def _worker(url: str, marks: Path, daily: Path, nows: list[datetime], step: object) -> None:
    """A worker looking at the schedule at each of ``nows``, in step with the other worker (as
    two workers whose clocks agree do; a slot's run takes less than the time to the next)."""
    engine = make_engine(url)
    jobs = {"marker": _marking_job(marks, 0.4), "daily": _daily_job(daily)}
    for now in nows:
        step.wait()  # type: ignore[attr-defined]
        run_pending(engine, now, SETTINGS, jobs=jobs)
    engine.dispose()


def _runs(engine: Engine, job: str) -> list[JobRun]:
    with transaction(engine) as s:
        return list(s.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)))


def test_two_workers_run_each_slot_once(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    marks, daily = tmp_path / "marks.txt", tmp_path / "daily.txt"
    # Both workers look at the schedule at the same moments: 09:58 (slot 09:55), 10:01 and
    # 10:03 (slot 10:00), 10:07 (slot 10:05); the daily job's slot is 03:00 Chicago.
    nows = [START, START + timedelta(minutes=3), START + timedelta(minutes=5),
            START + timedelta(minutes=9)]
    step = FORK.Barrier(2)
    workers = [FORK.Process(target=_worker, args=(url, marks, daily, nows, step))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    lines = marks.read_text().splitlines()
    slots = [line.split()[0] for line in lines]
    assert sorted(slots) == ["2026-12-07T09:55:00+00:00", "2026-12-07T10:00:00+00:00",
                             "2026-12-07T10:05:00+00:00"]
    assert len(daily.read_text().splitlines()) == 1
    runs = _runs(engine, "marker")
    assert [(r.scheduled_for.isoformat(), r.outcome) for r in runs] == [
        (s, "ok") for s in sorted(slots)]
    assert all(r.duration_ms is not None and r.duration_ms >= 400 for r in runs)
    assert [r.outcome for r in _runs(engine, "daily")] == ["ok"]
    # Every look at the schedule found each job either done, or being run by the other worker.
    assert {r.worker for r in runs} <= {f"{os.uname().nodename}:{w.pid}" for w in workers}


def _killed_worker(url: str, started: Path) -> None:
    engine = make_engine(url)

    def run(ctx: JobContext) -> str:
        started.write_text("started")
        time.sleep(60)
        return "never"
    run_pending(engine, START, SETTINGS, jobs={"marker": Job("marker", Every(5), run, "")})


def test_a_run_killed_half_way_is_finished_by_the_next(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    started = tmp_path / "started"
    child = FORK.Process(target=_killed_worker, args=(url, started))
    child.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    # While it runs, nobody else may take the job.
    assert [r.outcome for r in _runs(engine, "marker")] == ["running"]
    assert run_pending(engine, START, SETTINGS,
                       jobs={"marker": _marking_job(tmp_path / "m", 0)}) == []
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    # PostgreSQL frees the advisory lock with the dead connection; the SQLite lease expires
    # (the next worker looks two minutes later).
    later = datetime.now(UTC) + timedelta(minutes=2)
    for _ in range(50):  # the server notices the closed connection within moments
        ran = run_pending(engine, START, SETTINGS, jobs={"marker": _marking_job(
            tmp_path / "m", 0)}, lease_clock=lambda: later)
        if ran:
            break
        time.sleep(0.1)
    assert [(r.job, r.outcome) for r in ran] == [("marker", "ok")]
    runs = _runs(engine, "marker")
    assert [r.outcome for r in runs] == ["interrupted", "ok"]
    assert runs[0].scheduled_for == runs[1].scheduled_for == latest_slot(
        Every(5), START, SETTINGS.company_zone())
    assert "stopped before the run finished" in (runs[0].error or "")
    assert (tmp_path / "m").read_text().count("\n") == 1


def test_a_failed_run_is_recorded_and_tried_again_later(engine: Engine) -> None:
    calls: list[datetime] = []

    def run(ctx: JobContext) -> str:
        calls.append(ctx.now)
        if len(calls) == 1:
            raise RuntimeError("gateway away")
        return "fine"
    jobs = {"flaky": Job("flaky", Every(60), run, "")}
    first = run_pending(engine, START, SETTINGS, jobs=jobs)
    assert [(r.outcome, r.error) for r in first] == [("failed", "RuntimeError: gateway away")]
    assert run_pending(engine, START + timedelta(minutes=1), SETTINGS, jobs=jobs) == []
    again = run_pending(engine, START + timedelta(minutes=6), SETTINGS, jobs=jobs)
    assert [r.outcome for r in again] == ["ok"]
    assert [r.outcome for r in _runs(engine, "flaky")] == ["failed", "ok"]
    assert run_pending(engine, START + timedelta(minutes=7), SETTINGS, jobs=jobs) == []


def test_the_lock_keeps_a_second_holder_out(engine: Engine) -> None:
    with job_lock(engine, "x", "one") as first:
        assert first
        with job_lock(engine, "x", "two") as second:
            assert not second
    with job_lock(engine, "x", "two") as again:
        assert again


def test_the_real_jobs_run_on_an_empty_company(engine: Engine) -> None:
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    ran = run_pending(engine, now, SETTINGS, only={"autoship-run", "care-tick",
                                                   "close-reminder"})
    assert {r.job: r.outcome for r in ran} == {"autoship-run": "ok", "care-tick": "ok",
                                               "close-reminder": "ok"}
    reminder = next(r for r in ran if r.job == "close-reminder")
    assert reminder.detail.startswith("2026-11 is not committed yet")
    # Slots in the company's zone: 06:00 in Chicago is 12:00 UTC in December.
    autoship = next(r for r in ran if r.job == "autoship-run")
    assert autoship.slot == datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert autoship.detail.startswith("2026-12-07: 0 due")
    assert run_pending(engine, now, SETTINGS, only=set(JOBS)) != []  # the others, once
    assert run_pending(engine, now, SETTINGS) == []


def test_the_worker_command(db_url: str) -> None:
    from typer.testing import CliRunner

    from patronage.cli.main import app as cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["worker", "--list"])
    assert listed.exit_code == 0 and "autoship-run" in listed.output
    once = runner.invoke(cli, ["--db", db_url, "worker", "--once", "--job", "close-reminder",
                               "--now", "2026-12-07T15:00:00+00:00"])
    assert once.exit_code == 0, once.output
    assert "close-reminder" in once.output and "ok" in once.output
    again = runner.invoke(cli, ["--db", db_url, "worker", "--once", "--job", "close-reminder",
                                "--now", "2026-12-07T16:00:00+00:00"])
    assert "nothing due" in again.output
    wrong = runner.invoke(cli, ["--db", db_url, "worker", "--once", "--job", "payroll"])
    assert wrong.exit_code != 0
    assert "--job: payroll is not a job" in str(wrong.exception)
