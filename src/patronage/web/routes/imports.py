"""Imports for staff: upload a CSV, see it checked (every problem with its line and column),
then import it. Checking and importing run as background jobs (:mod:`patronage.web.import_jobs`)
whose page shows their progress (polled with htmx) and outcome, so a large file never holds up
the server. An import is all or nothing (see :mod:`patronage.orders.csv_import`)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from patronage.errors import PatronageError
from patronage.orders.csv_import import IMPORTERS
from patronage.web.deps import (
    PageError,
    Staff,
    check_csrf,
    clock_of,
    company_zone_name,
    engine_of,
    now_of,
)
from patronage.web.import_jobs import drop_upload, get_job, has_upload, keep_upload, start_job
from patronage.web.templating import render

router = APIRouter()
MAX_BYTES = 20 * 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@router.get("/company/imports", response_class=HTMLResponse)
def imports(request: Request, me: Staff) -> Response:
    return render(request, "imports.html", me, title="Imports", kinds=list(IMPORTERS),
                  job=None, kind="", error=None)


@router.post("/company/imports", response_class=HTMLResponse)
async def upload(request: Request, me: Staff) -> Response:
    """Step 1: keep the upload and start checking it (a dry run). Step 2 (``upload`` given):
    start importing it. Either way, on to the job's page."""
    await check_csrf(request)
    form = await request.form()
    kind = str(form.get("kind", ""))
    if kind not in IMPORTERS:
        raise PageError(400, f"kind: {kind!r} is not one of {', '.join(IMPORTERS)}")
    upload_id = str(form.get("upload", ""))
    if upload_id:
        if not _UPLOAD_ID.match(upload_id):
            raise PageError(400, "upload: not a valid upload reference")
        if not await run_in_threadpool(has_upload, engine_of(request), upload_id):
            raise PageError(404, "upload: that file is no longer here; upload it again")
        name, dry_run = str(form.get("filename", "the file"))[:255], False
    else:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise PageError(400, "file: choose a CSV file to upload")
        data = await file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise PageError(413, f"file: larger than {MAX_BYTES // (1024 * 1024)} MB")
        upload_id = await run_in_threadpool(keep_upload, engine_of(request), data,
                                            now_of(request))
        name, dry_run = Path(file.filename or "the file").name, True
    zone = company_zone_name(request)
    try:
        job_id = await run_in_threadpool(
            lambda: start_job(engine_of(request), kind=kind, upload=upload_id, filename=name,
                              dry_run=dry_run, now=now_of(request), actor=me.name or "staff",
                              company_zone=zone, clock=clock_of(request).now))
    except PatronageError as exc:
        if dry_run:  # the upload just kept: no job will use it
            await run_in_threadpool(drop_upload, engine_of(request), upload_id)
        return render(request, "imports.html", me, status=409, title="Imports",
                      kinds=list(IMPORTERS), job=None, kind=kind, error=exc.message)
    return RedirectResponse(f"/company/imports/jobs/{job_id}", status_code=303)


@router.get("/company/imports/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, me: Staff, job_id: int) -> Response:
    """The job's progress or outcome; an htmx poll gets the status part alone."""
    if not 0 < job_id < 2**31:
        raise PageError(404, f"import {job_id} does not exist")
    job = get_job(engine_of(request), job_id, now=now_of(request))
    if job is None:
        raise PageError(404, f"import {job_id} does not exist")
    template = "import_job.html" if request.headers.get("hx-request") else "imports.html"
    return render(request, template, me, title="Imports", kinds=list(IMPORTERS), job=job,
                  kind=job.kind, error=None)
