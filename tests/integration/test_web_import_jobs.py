"""Staff imports run as background jobs: the server answers meanwhile, one import runs at a
time, and uploads are kept (in the database, copied to the instance's private folder while a job
reads them) only as long as they are needed."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.web import import_jobs
from patronage.web.import_jobs import get_job, has_upload, upload_folder
from tests.e2e.world import EMAILS, csrf_of, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.web_jobs import finished

pytestmark = pytest.mark.storage
ROWS = 30_000


def _big_members() -> str:
    return "ref,kind,first_name,joined_at\n" + "".join(
        f"J{i},distributor,Jo{i},2026-03-01T00:00:00Z\n" for i in range(ROWS))


def _members(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Member)) or 0


def _staff(engine: Engine) -> tuple[TestClient, str]:
    seed(engine)
    client = TestClient(web_app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    return client, csrf_of(client.get("/company").text)


def test_the_server_answers_while_a_large_import_runs(engine: Engine) -> None:
    client, csrf = _staff(engine)
    before = _members(engine)
    started = client.post("/company/imports", data={"csrf_token": csrf, "kind": "members"},
                          files={"file": ("big.csv", _big_members(), "text/csv")},
                          follow_redirects=False)
    assert started.status_code == 303
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    # Another request, and a page, are answered while the job is still checking the file.
    assert client.get("/login").status_code == 200
    assert client.get("/company/imports").status_code == 200
    job = get_job(engine, job_id)
    assert job is not None and job.running, "the other requests waited for the import"
    polled = client.get(f"/company/imports/jobs/{job_id}", headers={"hx-request": "true"})
    assert polled.status_code == 200 and "<html" not in polled.text
    # One import at a time.
    second = client.post("/company/imports", data={"csrf_token": csrf, "kind": "members"},
                         files={"file": ("other.csv", "ref,kind,first_name,joined_at\n",
                                         "text/csv")})
    assert second.status_code == 409 and "another import is running" in second.text
    page = finished(client, client.get(f"/company/imports/jobs/{job_id}"), timeout=600)
    assert f"Checked: {ROWS} row(s) of members" in page.text
    upload = page.text.split('name="upload" value="')[1].split('"')[0]
    kept = upload_folder() / f"{upload}.csv"
    assert has_upload(engine, upload)  # kept for the confirmation
    assert not kept.exists()  # the check's local copy went with it
    done = finished(client, client.post("/company/imports", data={
        "csrf_token": csrf, "kind": "members", "upload": upload, "filename": "big.csv"}),
        timeout=600)
    assert f"Imported: {ROWS} members" in done.text
    assert _members(engine) == before + ROWS
    assert not has_upload(engine, upload) and not kept.exists()  # deleted once imported


def test_uploads_are_private_to_the_instance_and_deleted_when_a_check_fails(
        engine: Engine) -> None:
    client, csrf = _staff(engine)
    folder = upload_folder()
    assert folder.parent == Path(tempfile.gettempdir())
    assert folder.name.startswith(f"patronage-uploads-{os.getpid()}-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    before = set(folder.glob("*.csv"))  # uploads of earlier tests in this process, if any
    page = finished(client, client.post("/company/imports", data={"csrf_token": csrf,
                                                                  "kind": "members"},
                                        files={"file": ("bad.csv", "ref,kind\nA,wizard\n",
                                                        "text/csv")}))
    assert "Nothing was written" in page.text and "bad.csv: nothing imported" in page.text
    assert set(folder.glob("*.csv")) <= before  # this upload was deleted


def test_stale_upload_folders_are_removed_at_start(tmp_path: Path) -> None:
    gone = tmp_path / f"{import_jobs.PREFIX}999999999-abc"  # no such process
    mine = tmp_path / f"{import_jobs.PREFIX}{os.getpid()}-abc"
    legacy = tmp_path / import_jobs.LEGACY
    for folder in (gone, mine, legacy):
        folder.mkdir()
        (folder / "left.csv").write_text("x")
    import_jobs.clean_stale(tmp_path)
    assert not gone.exists() and not legacy.exists() and mine.exists()
