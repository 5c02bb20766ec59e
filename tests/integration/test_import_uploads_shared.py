"""A staff upload is kept in the database, so the confirmation after its check finds it
whichever server process (``serve --workers N``) or machine answers; it is removed once
imported, when its job fails, or when a checked file waits longer than KEEP_CHECKED."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.clock import FixedClock
from patronage.db.engine import transaction
from patronage.db.import_jobs import ImportUpload
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.web.import_jobs import (
    KEEP_CHECKED,
    has_upload,
    keep_upload,
    start_job,
    upload_path,
    wait_for,
)

pytestmark = pytest.mark.storage
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
CSV = (b"ref,kind,first_name,joined_at\nU1,distributor,Ann,2026-03-01T00:00:00Z\n"
       b"U2,distributor,Bea,2026-03-02T00:00:00Z\n")


def _members(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Member)) or 0)


def _start(engine: Engine, upload: str, *, dry_run: bool) -> int:
    return start_job(engine, kind="members", upload=upload, filename="people.csv",
                     dry_run=dry_run, now=T0, actor="staff", company_zone="UTC",
                     clock=FixedClock(T0).now)


def test_an_upload_kept_by_another_process_is_checked_and_imported_here(
        engine: Engine, db_url: str) -> None:
    code = ("import sys; from datetime import UTC, datetime; "
            "from patronage.db.engine import make_engine; "
            "from patronage.web.import_jobs import keep_upload; "
            f"print(keep_upload(make_engine(sys.argv[1]), {CSV!r}, "
            "datetime(2026, 11, 20, 12, tzinfo=UTC)))")
    upload = subprocess.run([sys.executable, "-c", code, db_url], check=True,
                            capture_output=True, text=True).stdout.strip()
    assert len(upload) == 32 and has_upload(engine, upload)
    assert not upload_path(upload).exists()  # nothing of it in this process's folder

    checked = wait_for(engine, _start(engine, upload, dry_run=True))
    assert (checked.status, checked.rows) == ("done", 2)
    assert _members(engine) == 0  # a check writes nothing
    assert has_upload(engine, upload)  # waits for the confirmation
    assert not upload_path(upload).exists()  # the local copy went with the job

    imported = wait_for(engine, _start(engine, upload, dry_run=False))
    assert (imported.status, imported.written) == ("done", 2)
    assert _members(engine) == 2
    assert not has_upload(engine, upload)  # imported: removed
    with pytest.raises(PatronageError, match="no longer here"):
        _start(engine, upload, dry_run=False)
    assert _members(engine) == 2


def test_a_failed_check_removes_the_upload(engine: Engine) -> None:
    upload = keep_upload(engine, b"ref,kind,first_name,joined_at\nU1,nobody,Ann,x\n", T0)
    failed = wait_for(engine, _start(engine, upload, dry_run=True))
    assert failed.status == "failed" and failed.problems
    assert not has_upload(engine, upload)


def test_a_checked_upload_left_too_long_is_removed_by_the_next(engine: Engine) -> None:
    old = keep_upload(engine, CSV, T0)
    kept = keep_upload(engine, CSV, T0 + KEEP_CHECKED)
    assert has_upload(engine, old) and has_upload(engine, kept)  # exactly KEEP_CHECKED: kept
    newest = keep_upload(engine, CSV, T0 + KEEP_CHECKED + KEEP_CHECKED / 2)
    assert not has_upload(engine, old)
    assert has_upload(engine, kept) and has_upload(engine, newest)
    with transaction(engine) as s:
        sizes = s.scalars(select(ImportUpload.size)).all()
    assert sizes == [len(CSV), len(CSV)]
