"""The scheduled jobs for staff: each job's schedule and latest run (a close reminder shown
first), and the recent runs with their outcome, duration and error."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from patronage.db.engine import transaction
from patronage.operations.jobs import JOBS
from patronage.operations.runs import latest_by_job, recent_runs
from patronage.web.deps import Staff, company_zone, engine_of
from patronage.web.templating import render

router = APIRouter()


@router.get("/company/jobs", response_class=HTMLResponse)
def jobs(request: Request, me: Staff, job: str = "") -> Response:
    chosen = job if job in JOBS else ""
    with transaction(engine_of(request)) as session:
        latest = latest_by_job(session)
        runs = recent_runs(session, limit=100, job=chosen or None)
    reminder = latest.get("close-reminder")
    # The close reminder's latest run names the month still open ("2026-11 is not committed").
    open_month = (reminder.detail[:7] if reminder is not None and reminder.outcome == "ok"
                  and "not committed" in reminder.detail else None)
    return render(request, "company_jobs.html", me, title="Jobs", jobs=list(JOBS.values()),
                  latest=latest, runs=runs, job=chosen, open_month=open_month,
                  zone=company_zone(request))
