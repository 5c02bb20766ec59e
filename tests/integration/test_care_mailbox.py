"""``patronage care bounces --maildir``: bounces and complaints read from a Maildir folder
suppress the address, once (samples in tests/fixtures/mailbox)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.care.deliver import deliver_emails
from patronage.care.mailbox import read_maildir
from patronage.cli.main import app as cli
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Suppression
from patronage.errors import PatronageError
from patronage.network.members import is_suppressed
from tests.fixtures.care_data import customer, distributor, touch

NOW = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "mailbox"
pytestmark = pytest.mark.storage


def _maildir(root: Path, *samples: str) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, sample in enumerate(samples):
        shutil.copy(SAMPLES / sample, root / "new" / f"1792504931.M{n}P100.mx")
    return root


def _suppressions(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Suppression)) or 0)


def test_hard_bounces_and_complaints_suppress_once(engine: Engine, tmp_path: Path) -> None:
    box = _maildir(tmp_path / "bounces", "postfix_hard_bounce.eml", "delayed_soft_bounce.eml",
                   "arf_complaint.eml", "exchange_hard_bounce_two_recipients.eml",
                   "out_of_office.eml")
    report = read_maildir(engine, box, now=NOW)
    assert sorted(report.suppressed) == ["kim@hotmail.example", "nina@corp.example",
                                         "sally@example.com"]
    assert (report.read, report.soft, report.already) == (5, 1, 0)
    assert report.other == ["1792504931.M4P100.mx"]
    with transaction(engine) as s:
        for address in ("sally@example.com", "kim@hotmail.example", "nina@corp.example"):
            assert is_suppressed(s, "email", address)
        assert not is_suppressed(s, "email", "sam@example.com")  # mailbox full: soft
        assert not is_suppressed(s, "email", "omar@corp.example")  # delivered
        reasons = sorted(s.scalars(select(Suppression.reason)))
    assert reasons == ["complaint", "hard bounce", "hard bounce"]
    assert os_names(box / "new") == []
    assert len(os_names(box / "cur")) == 5
    assert all(name.endswith(":2,S") for name in os_names(box / "cur"))
    # reading again reads nothing; the same bounce arriving again changes nothing
    assert read_maildir(engine, box, now=NOW).read == 0
    shutil.copy(SAMPLES / "postfix_hard_bounce.eml", box / "new" / "1792600000.M9P1.mx")
    again = read_maildir(engine, box, now=NOW + timedelta(hours=1))
    assert (again.read, again.suppressed, again.already) == (1, [], 1)
    assert _suppressions(engine) == 3


def os_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_bounced_address_gets_no_more_care_email(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        tid = touch(s, sally, dana, channel="email", template="check_in", due_at=NOW)
    read_maildir(engine, _maildir(tmp_path / "box", "postfix_hard_bounce.eml"), now=NOW)
    cfg = Settings(smtp_port=1, base_url="https://care.acme.example",
                   secret_key="test-secret-key-0123")
    report = deliver_emails(engine, NOW + timedelta(minutes=1), settings=cfg)
    assert report.dropped == {tid: "email address suppressed"}
    with transaction(engine) as s:
        row = s.get(Touch, tid)
        assert row is not None and row.status == "dropped"


def test_not_a_maildir_is_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(PatronageError, match="is not a Maildir folder"):
        read_maildir(engine, tmp_path, now=NOW)


def test_bounces_command(engine: Engine, db_url: str, tmp_path: Path) -> None:
    box = _maildir(tmp_path / "box", "postfix_hard_bounce.eml", "arf_complaint.eml")
    result = CliRunner().invoke(cli, ["--db", db_url, "care", "bounces", "--maildir", str(box),
                                      "--now", NOW.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["read"] == 2 and sorted(out["suppressed"]) == ["kim@hotmail.example",
                                                             "sally@example.com"]
    again = CliRunner().invoke(cli, ["--db", db_url, "care", "bounces", "--maildir", str(box),
                                     "--now", NOW.isoformat()])
    assert again.exit_code == 0 and "0 messages read" in again.output


def test_worker_job_reads_the_mailbox_the_settings_name(engine: Engine, tmp_path: Path) -> None:
    from patronage.operations.jobs import JOBS, JobContext

    job = JOBS["care-bounces"]
    idle = JobContext(engine, Settings(), NOW, NOW)
    assert job.run(idle) == "no mailbox set (PATRONAGE_BOUNCES_MAILDIR)"
    box = _maildir(tmp_path / "box", "arf_complaint.eml", "delayed_soft_bounce.eml")
    cfg = Settings(bounces_maildir=str(box))
    line = job.run(JobContext(engine, cfg, NOW, NOW))
    assert line == "2 messages read: 1 addresses suppressed, 0 already, 1 soft bounces"
    with transaction(engine) as s:
        assert is_suppressed(s, "email", "kim@hotmail.example",
                             key=cfg.suppression_secret())
