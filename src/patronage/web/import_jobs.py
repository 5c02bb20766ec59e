"""Staff imports run as background jobs, off the event loop, one at a time.

An upload is kept in this server instance's own private folder (``patronage-uploads-<pid>-…``
in the system's temporary directory, mode 0700), made when the first upload arrives; folders
left by instances that are gone (and the shared ``patronage-imports`` folder older versions
used) are removed then. A job checks the file (a dry run) or imports it in a worker thread,
its progress (rows read) kept in memory for the page to poll and its outcome stored in
``import_jobs``. The upload is deleted when its job ends, whether it succeeds or fails, except
after a successful check, when it waits for the staff member's confirmation (at most
:data:`KEEP_CHECKED`; older uploads are removed when the next one arrives).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from patronage.db.engine import transaction
from patronage.db.import_jobs import ImportJob
from patronage.errors import Conflict, PatronageError, Problems
from patronage.orders.csv_import import IMPORTERS
from patronage.orders.csv_rows import count_lines

PREFIX = "patronage-uploads-"
LEGACY = "patronage-imports"
#: How long a checked upload waits for its confirmation.
KEEP_CHECKED = 3600.0

_lock = threading.Lock()
_folder: Path | None = None
#: Rows read so far and the step, per running job of this instance.
_progress: dict[int, tuple[str, int]] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(base: Path) -> None:
    """Remove the upload folders of instances that are gone, and the legacy shared folder."""
    shutil.rmtree(base / LEGACY, ignore_errors=True)
    for folder in base.glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def upload_folder() -> Path:
    """This instance's private folder for uploads (made, and stale ones cleaned, once)."""
    global _folder
    with _lock:
        if _folder is None or not _folder.is_dir():
            base = Path(tempfile.gettempdir())
            clean_stale(base)
            _folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        return _folder


def keep_upload(data: bytes) -> str:
    """Store an upload; returns its reference. Checked uploads left too long are removed."""
    folder = upload_folder()
    limit = time.time() - KEEP_CHECKED
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < limit:
            old.unlink(missing_ok=True)
    upload = secrets.token_hex(16)
    (folder / f"{upload}.csv").write_bytes(data)
    return upload


def upload_path(upload: str) -> Path:
    return upload_folder() / f"{upload}.csv"


@dataclass
class JobView:
    id: int
    kind: str
    filename: str
    upload: str
    dry_run: bool
    status: str
    step: str
    rows: int
    rows_total: int
    written: int
    already: int
    error: str | None
    problems: list[tuple[str, str]]

    @property
    def running(self) -> bool:
        return self.status == "running"


def view(job: ImportJob) -> JobView:
    step, rows = _progress.get(job.id, ("", job.rows))
    problems = [(str(p), str(r)) for p, r in json.loads(job.problems or "[]")]
    return JobView(job.id, job.kind, job.filename, job.upload, job.dry_run, job.status, step,
                   rows, job.rows_total, job.written, job.already, job.error, problems)


def get_job(engine: Engine, job_id: int) -> JobView | None:
    with transaction(engine) as s:
        job = s.get(ImportJob, job_id)
        return None if job is None else view(job)


def start_job(engine: Engine, *, kind: str, upload: str, filename: str, dry_run: bool,
              now: datetime, actor: str, company_zone: str) -> int:
    """Record the job and start it in a worker thread; refused while another import runs."""
    if kind not in IMPORTERS:
        raise PatronageError(f"kind: {kind!r} is not one of {', '.join(IMPORTERS)}")
    path = upload_path(upload)
    with transaction(engine) as s:
        if s.scalar(select(ImportJob.id).where(ImportJob.running.is_not(None))) is not None:
            raise Conflict("imports: another import is running; wait for it to end")
    try:
        with transaction(engine) as s:
            job = ImportJob(kind=kind, filename=filename[:255], upload=upload, dry_run=dry_run,
                            status="running", running=1,
                            rows_total=max(0, count_lines(path) - 1), rows=0, written=0,
                            already=0, started_by=actor[:254], started_at=now)
            s.add(job)
            s.flush()
            job_id = job.id
    except IntegrityError as exc:
        raise Conflict("imports: another import is running; wait for it to end") from exc
    _progress[job_id] = ("starting", 0)
    threading.Thread(target=run_job, args=(engine, job_id, kind, path, filename, dry_run, now,
                                            company_zone),
                     name=f"import-job-{job_id}", daemon=True).start()
    return job_id


def run_job(engine: Engine, job_id: int, kind: str, path: Path, filename: str, dry_run: bool,
            now: datetime, company_zone: str) -> None:
    """The job itself (in its worker thread): import, store the outcome, drop the upload."""

    def progress(step: str, rows: int) -> None:
        _progress[job_id] = (step, rows)

    outcome: dict[str, Any] = {"status": "failed"}
    try:
        extra: dict[str, Any] = {"progress": progress} if kind != "products" else {}
        if kind == "orders":
            # Orders are dated in the open period, whose months are the company's.
            extra["company_zone"] = company_zone
        report = IMPORTERS[kind](engine, path, dry_run=dry_run, now=now, **extra)
        outcome = {"status": "done", "rows": report.rows, "written": report.written,
                   "already": report.already}
    except Problems as exc:
        outcome["error"] = exc.title.replace(str(path), filename)
        outcome["problems"] = json.dumps([[p.place, p.reason] for p in exc.problems])
    except PatronageError as exc:
        outcome["error"] = exc.message.replace(str(path), filename)
    except Exception as exc:
        outcome["error"] = f"{filename}: the import stopped ({type(exc).__name__}); nothing " \
                           "was imported"
    finally:
        if outcome["status"] == "failed" or not dry_run:
            path.unlink(missing_ok=True)
        outcome.update(running=None, finished_at=now)
        if "rows" not in outcome:
            outcome["rows"] = _progress.get(job_id, ("", 0))[1]
        with transaction(engine) as s:
            s.execute(update(ImportJob).where(ImportJob.id == job_id).values(**outcome))
        _progress.pop(job_id, None)


def wait_for(engine: Engine, job_id: int, timeout: float = 60.0) -> JobView:
    """The job once it has ended (for the command line and tests)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(engine, job_id)
        if job is None or not job.running or time.monotonic() > deadline:
            assert job is not None
            return job
        time.sleep(0.05)
