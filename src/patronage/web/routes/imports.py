"""Imports for staff: upload a CSV, see the dry-run report (every problem with its line and
column), then import it. An import is all or nothing (see :mod:`patronage.orders.csv_import`)."""

from __future__ import annotations

import re
import secrets
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from patronage.errors import PatronageError, Problems
from patronage.orders.csv_import import IMPORTERS, ImportReport
from patronage.web.deps import PageError, Staff, check_csrf, company_zone_name, engine_of, now_of
from patronage.web.templating import render

router = APIRouter()
MAX_BYTES = 20 * 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "patronage-imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@router.get("/company/imports", response_class=HTMLResponse)
def imports(request: Request, me: Staff) -> Response:
    return render(request, "imports.html", me, title="Imports", kinds=list(IMPORTERS),
                  report=None, problems=None, upload=None, kind="", error=None)


def _run(kind: str, path: Path, request: Request, dry_run: bool, name: str) -> tuple[
        ImportReport | None, list[tuple[str, str]] | None, str | None]:
    """The report, or the problems (named after the uploaded file, not where it is kept)."""
    try:
        # Orders are dated in the open period, whose months are the company's.
        zone = {"company_zone": company_zone_name(request)} if kind == "orders" else {}
        return IMPORTERS[kind](engine_of(request), path, dry_run=dry_run,
                               now=now_of(request), **zone), None, None
    except Problems as exc:
        return None, [(p.place, p.reason) for p in exc.problems], exc.title.replace(
            str(path), name)
    except PatronageError as exc:
        return None, None, exc.message.replace(str(path), name)


@router.post("/company/imports", response_class=HTMLResponse)
async def upload(request: Request, me: Staff) -> Response:
    """Step 1: keep the upload and validate it (dry run). Step 2 (``upload`` given): import."""
    await check_csrf(request)
    form = await request.form()
    kind = str(form.get("kind", ""))
    if kind not in IMPORTERS:
        raise PageError(400, f"kind: {kind!r} is not one of {', '.join(IMPORTERS)}")
    upload_id = str(form.get("upload", ""))
    if upload_id:
        if not _UPLOAD_ID.match(upload_id):
            raise PageError(400, "upload: not a valid upload reference")
        path = upload_dir() / f"{upload_id}.csv"
        if not path.is_file():
            raise PageError(404, "upload: that file is no longer here; upload it again")
        report, problems, error = _run(kind, path, request, dry_run=False,
                                       name=str(form.get("filename", "the file")))
        if report is not None:
            path.unlink(missing_ok=True)
        return render(request, "imports.html", me, status=200 if report else 400,
                      title="Imports", kinds=list(IMPORTERS), report=report, problems=problems,
                      upload=None if report else upload_id, kind=kind, error=error)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise PageError(400, "file: choose a CSV file to upload")
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PageError(413, f"file: larger than {MAX_BYTES // (1024 * 1024)} MB")
    upload_id = secrets.token_hex(16)
    path = upload_dir() / f"{upload_id}.csv"
    path.write_bytes(data)
    name = Path(file.filename or "the file").name
    report, problems, error = _run(kind, path, request, dry_run=True, name=name)
    return render(request, "imports.html", me, status=200 if report else 400, title="Imports",
                  kinds=list(IMPORTERS), report=report, problems=problems,
                  upload=upload_id if report else None, kind=kind, error=error,
                  filename=name)
