"""``patronage worker`` (the scheduled jobs) and ``patronage backup`` (SQLite online backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patronage.cli.common import JsonOpt, NowOpt, console, emit_json, parse_now, state

app = typer.Typer()


@app.command()
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then stop.")]
    = False,
    now: NowOpt = None,
    interval: Annotated[float, typer.Option(help="Seconds between two looks at the schedule.")]
    = 30.0,
    job: Annotated[list[str] | None, typer.Option(
        "--job", help="Only this job (repeat for several); default: every job.")] = None,
    list_jobs: Annotated[bool, typer.Option("--list", help="List the jobs and their schedules.")]
    = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the scheduled jobs (autoship run, care tick and delivery, value fit, close reminder)
    at their times in the company's time zone, each under a lock so that several workers never
    run one job at once, every run recorded (see /company/jobs). Stops on SIGTERM or Ctrl-C
    after the job in progress."""
    import signal
    import threading

    from patronage.clock import SystemClock
    from patronage.errors import PatronageError
    from patronage.operations.jobs import JOBS
    from patronage.operations.logs import configure_logging
    from patronage.operations.worker import run_forever, run_pending

    if list_jobs:
        listed = [{"job": j.name, "schedule": j.schedule.describe(), "does": j.description}
                for j in JOBS.values()]
        if as_json:
            emit_json(listed)
        else:
            for row in listed:
                console.print(f"{row['job']:<16} {row['schedule']:<22} {row['does']}",
                              highlight=False)
        return
    unknown = sorted(set(job or ()) - set(JOBS))
    if unknown:
        raise PatronageError(f"--job: {', '.join(unknown)} is not a job; the jobs are "
                             f"{', '.join(JOBS)}")
    selected = {name: JOBS[name] for name in (job or JOBS)}
    settings = state(ctx).settings()
    engine = state(ctx).engine()
    configure_logging(settings.log_level, settings.log_format)
    if once:
        ran = run_pending(engine, parse_now(now), settings, jobs=selected)
        if as_json:
            emit_json([{"job": r.job, "slot": r.slot.isoformat(), "outcome": r.outcome,
                        "seconds": round(r.seconds, 3), "detail": r.detail, "error": r.error}
                       for r in ran])
        else:
            for r in ran:
                console.print(f"{r.job} ({r.slot.isoformat()}): {r.outcome} in "
                              f"{r.seconds:.2f} s; {r.error or r.detail}", highlight=False)
            if not ran:
                console.print("nothing due")
        if any(r.outcome != "ok" for r in ran):
            raise typer.Exit(1)
        return
    if now is not None:
        raise PatronageError("--now: only with --once (the worker follows the clock)")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(engine, settings, SystemClock().now, interval=interval, stop=stop,
                jobs=selected)


@app.command()
def backup(ctx: typer.Context,
           target: Annotated[Path, typer.Argument(help="The new backup file.")]) -> None:
    """Copy the SQLite database into a new file while the server and jobs keep running
    (sqlite3's online backup API). PostgreSQL: use pg_dump (docs/operations.md)."""
    from patronage.operations.backup import backup_sqlite

    size = backup_sqlite(state(ctx).url(), target)
    console.print(f"backed up {state(ctx).url()} to {target} ({size:,} bytes); restore by "
                  "putting the file in place with the server and jobs stopped")
