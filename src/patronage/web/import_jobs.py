"""Staff imports run as background jobs, off the event loop, one at a time.

An upload is kept in the database (``import_uploads``), so whichever server process or machine
answers the next step (the confirmation after a check) finds it. A job copies it into this
server instance's own private folder (``patronage-uploads-<pid>-…`` in the system's temporary
directory, mode 0700, made when the first job starts; folders left by instances that are gone,
and the shared ``patronage-imports`` folder older versions used, are removed then) and checks
the file (a dry run) or imports it in a worker thread; its progress (the step and the rows read)
and its outcome are stored in ``import_jobs``, so the page shows them from whichever server
process answers. The local copy is deleted when its job ends; the stored upload too, whether
the job succeeds or fails, except after a successful check, when it waits for the staff
member's confirmation (at most :data:`KEEP_CHECKED`; older uploads are removed when the next one
arrives).

A running job writes its progress with a heartbeat (the time) every :data:`HEARTBEAT_EVERY`
seconds. A job still marked running whose heartbeat is older than :data:`STALE_AFTER` belongs to
a process that died (a restart, a crash): it is marked failed, with :data:`STOPPED` as the
reason, when its page is shown, when another import starts and when the server starts. Nothing
of it was written: an import writes in one transaction, which ends with its process. (On SQLite
an import holds the database's write lock while it checks against the store and writes; the
heartbeat waits meanwhile, which :data:`STALE_AFTER` leaves ample room for.)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from patronage.clock import SystemClock
from patronage.db.engine import transaction
from patronage.db.import_jobs import ImportJob, ImportUpload
from patronage.errors import Conflict, PatronageError, Problems
from patronage.languages import N_
from patronage.orders.csv_import import IMPORTERS
from patronage.orders.csv_rows import count_lines

PREFIX = "patronage-uploads-"
LEGACY = "patronage-imports"
#: How long a checked upload waits for its confirmation.
KEEP_CHECKED = timedelta(hours=1)

#: How often a running job writes its progress and heartbeat (seconds).
HEARTBEAT_EVERY = 1.0
#: A running job whose heartbeat is older than this has stopped (its process died).
STALE_AFTER = timedelta(minutes=5)
#: The reason given for such a job.
STOPPED = N_("the import stopped: the server restarted or the process died; nothing was "
             "written — upload the file again")
#: How long a heartbeat waits for SQLite's write lock before giving up until the next beat.
_BEAT_WAIT_MS = 200

_lock = threading.Lock()
_folder: Path | None = None


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


def keep_upload(engine: Engine, data: bytes, now: datetime) -> str:
    """Store an upload in the database; returns its reference. Uploads stored more than
    :data:`KEEP_CHECKED` before ``now`` (checked files never confirmed) are removed."""
    upload = secrets.token_hex(16)
    with transaction(engine) as s:
        s.execute(delete(ImportUpload).where(ImportUpload.created_at < now - KEEP_CHECKED))
        s.add(ImportUpload(id=upload, data=data, size=len(data), created_at=now))
    return upload


def has_upload(engine: Engine, upload: str) -> bool:
    """Whether the upload is still stored (not imported, failed or expired)."""
    with transaction(engine) as s:
        return s.scalar(select(ImportUpload.size).where(ImportUpload.id == upload)) is not None


def drop_upload(engine: Engine, upload: str) -> None:
    with transaction(engine) as s:
        s.execute(delete(ImportUpload).where(ImportUpload.id == upload))


def upload_path(upload: str) -> Path:
    """Where this instance keeps its local copy of the upload while a job reads it."""
    return upload_folder() / f"{upload}.csv"


def local_copy(engine: Engine, upload: str) -> Path:
    """The upload copied from the database into this instance's private folder."""
    with transaction(engine) as s:
        data = s.scalar(select(ImportUpload.data).where(ImportUpload.id == upload))
    if data is None:
        raise PatronageError("upload: that file is no longer here; upload it again")
    path = upload_path(upload)
    path.write_bytes(data)
    return path


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
    problems = [(str(p), str(r)) for p, r in json.loads(job.problems or "[]")]
    return JobView(job.id, job.kind, job.filename, job.upload, job.dry_run, job.status,
                   job.step if job.running else "", job.rows, job.rows_total, job.written,
                   job.already, job.error, problems)


def expire_stale(engine: Engine, now: datetime) -> int:
    """Mark failed every job still running whose heartbeat (or, before its first one, its
    start) is older than :data:`STALE_AFTER` at ``now``; returns how many. Only reads unless
    there is one: a page polled while a SQLite import holds the write lock does not wait."""
    stale = (ImportJob.running.is_not(None)
             & or_(ImportJob.heartbeat_at < now - STALE_AFTER,
                   ImportJob.heartbeat_at.is_(None) & (ImportJob.started_at < now - STALE_AFTER)))
    with transaction(engine) as s:
        if s.scalar(select(ImportJob.id).where(stale).limit(1)) is None:
            return 0
    with transaction(engine) as s:
        done = s.execute(
            update(ImportJob).where(stale)
            .values(status="failed", running=None, error=STOPPED, finished_at=now)
            .execution_options(synchronize_session=False))
        return int(getattr(done, "rowcount", 0) or 0)


def get_job(engine: Engine, job_id: int, now: datetime | None = None) -> JobView | None:
    """The job as stored; with ``now``, a running job whose heartbeat is stale is first marked
    failed (see the module's description)."""
    if now is not None:
        expire_stale(engine, now)
    with transaction(engine) as s:
        job = s.get(ImportJob, job_id)
        return None if job is None else view(job)


def start_job(engine: Engine, *, kind: str, upload: str, filename: str, dry_run: bool,
              now: datetime, actor: str, company_zone: str,
              clock: Callable[[], datetime] | None = None) -> int:
    """Record the job and start it in a worker thread; refused while another import runs (a
    job whose heartbeat is stale at ``now`` no longer counts). ``clock`` dates the job's
    heartbeats (the system's clock unless given)."""
    if kind not in IMPORTERS:
        raise PatronageError(f"kind: {kind!r} is not one of {', '.join(IMPORTERS)}")
    path = local_copy(engine, upload)
    expire_stale(engine, now)
    with transaction(engine) as s:
        if s.scalar(select(ImportJob.id).where(ImportJob.running.is_not(None))) is not None:
            raise Conflict("imports: another import is running; wait for it to end")
    try:
        with transaction(engine) as s:
            job = ImportJob(kind=kind, filename=filename[:255], upload=upload, dry_run=dry_run,
                            status="running", running=1, step=N_("starting"),
                            rows_total=max(0, count_lines(path) - 1), rows=0, written=0,
                            already=0, started_by=actor[:254], started_at=now,
                            heartbeat_at=(clock or SystemClock().now)())
            s.add(job)
            s.flush()
            job_id = job.id
    except IntegrityError as exc:
        path.unlink(missing_ok=True)
        raise Conflict("imports: another import is running; wait for it to end") from exc
    threading.Thread(target=run_job, args=(engine, job_id, kind, path, filename, dry_run, now,
                                            company_zone, clock, upload),
                     name=f"import-job-{job_id}", daemon=True).start()
    return job_id


class Heartbeat:
    """A running job's progress, written with the time every :data:`HEARTBEAT_EVERY` seconds
    by a thread of its own (so a long statement of the import does not stop it)."""

    def __init__(self, engine: Engine, job_id: int, clock: Callable[[], datetime]) -> None:
        self.engine, self.job_id, self.clock = engine, job_id, clock
        self.step, self.rows = N_("starting"), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"import-beat-{job_id}",
                                        daemon=True)

    def progress(self, step: str, rows: int) -> None:
        """The import's progress callback."""
        self.step, self.rows = step, rows

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            self.beat()

    def beat(self) -> bool:
        """Write the progress and the time now; ``False`` when the database refused or made
        it wait too long (SQLite's write lock, held by the import): the next beat tries
        again."""
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.driver_connection
                sqlite = conn.dialect.name == "sqlite"
                waited = None
                if sqlite and raw is not None:
                    waited = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                    raw.execute(f"PRAGMA busy_timeout = {_BEAT_WAIT_MS}")
                try:
                    with conn.begin():
                        conn.execute(update(ImportJob).where(
                            ImportJob.id == self.job_id, ImportJob.running.is_not(None),
                        ).values(step=self.step[:64], rows=self.rows,
                                 heartbeat_at=self.clock()))
                finally:
                    if waited is not None and raw is not None:
                        raw.execute(f"PRAGMA busy_timeout = {int(waited)}")
        except SQLAlchemyError:
            return False
        return True


def run_job(engine: Engine, job_id: int, kind: str, path: Path, filename: str, dry_run: bool,
            now: datetime, company_zone: str,
            clock: Callable[[], datetime] | None = None, upload: str | None = None) -> None:
    """The job itself (in its worker thread): import, store the outcome, drop the local copy,
    and the stored upload unless it was checked and waits for its confirmation."""
    heartbeat = Heartbeat(engine, job_id, clock or SystemClock().now)
    progress = heartbeat.progress
    outcome: dict[str, Any] = {"status": "failed"}
    try:
        extra: dict[str, Any] = {"progress": progress} if kind != "products" else {}
        if kind in ("orders", "members"):
            # Orders are dated in the open period, whose months are the company's; members
            # are placed by the plan in force this month.
            extra["company_zone"] = company_zone
        with heartbeat:
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
        path.unlink(missing_ok=True)
        if upload is not None and (outcome["status"] == "failed" or not dry_run):
            drop_upload(engine, upload)
        outcome.update(running=None, finished_at=now, step="")
        if "rows" not in outcome:
            outcome["rows"] = heartbeat.rows
        with transaction(engine) as s:
            s.execute(update(ImportJob).where(ImportJob.id == job_id).values(**outcome))


def wait_for(engine: Engine, job_id: int, timeout: float = 60.0) -> JobView:
    """The job once it has ended (for the command line and tests)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(engine, job_id)
        if job is None or not job.running or time.monotonic() > deadline:
            assert job is not None
            return job
        time.sleep(0.05)
