"""The ``patronage care`` delivery commands, end to end against a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.care import testimonials
from patronage.cli.main import app as cli
from patronage.db import care as records
from patronage.db.engine import transaction
from tests.fixtures.care_data import customer, distributor, touch
from tests.integration.test_care_delivery_email import Smtp

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
ISO = NOW.isoformat()
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "contacts"
pytestmark = pytest.mark.storage


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    monkeypatch.setenv("PATRONAGE_SMTP_PORT", str(server.port))
    monkeypatch.setenv("PATRONAGE_MAIL_FROM", "care@acme.example")
    try:
        yield server
    finally:
        server.stop()


def _run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db_url, "care", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_deliver_sends_emails_and_exports_cards(engine: Engine, db_url: str, smtp: Smtp,
                                                tmp_path: Path) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        mail = touch(s, sally, dana, channel="email", template="order_thanks", due_at=NOW)
        card = touch(s, sally, dana, channel="card", template="birthday", due_at=NOW)
    out = json.loads(_run(db_url, "deliver", "--now", ISO, "--cards-dir", str(tmp_path),
                          "--json"))
    assert out["sent"] == 1 and out["cards_exported"] == 1
    assert Path(out["cards_file"]).is_file()
    assert [m["Message-ID"] for m in smtp.messages] == [f"<care-touch-{mail}@acme.example>"]
    with transaction(engine) as s:
        rows = [s.get(records.Touch, t) for t in (mail, card)]
        assert [r.status if r else None for r in rows] == ["sent", "sent"]
    again = _run(db_url, "deliver", "--now", (NOW + timedelta(hours=1)).isoformat())
    assert again.startswith("0 emails sent") and len(smtp.messages) == 1


def test_tasks_feed_contacts_and_moderation_commands(engine: Engine, db_url: str,
                                                     tmp_path: Path) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        task = touch(s, sally, dana, channel="task", template="birthday", due_at=NOW)
        story = testimonials.submit(s, sally, "So good", consent_to_publish=True, now=NOW).id
    listed = json.loads(_run(db_url, "tasks", "--distributor", str(dana), "--now", ISO,
                             "--json"))
    assert [(t["touch_id"], t["line"]) for t in listed] == [
        (task, "Call Sally Smith today: birthday")]
    feed = tmp_path / "tasks.ics"
    _run(db_url, "tasks-feed", "--distributor", str(dana), "--now", ISO, "--out", str(feed))
    [event] = Calendar.from_ical(feed.read_bytes()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Call Sally Smith today: birthday"

    dry = _run(db_url, "contacts", "import", "--distributor", str(dana),
               str(FIXTURES / "contacts.csv"), "--dry-run", "--now", ISO)
    assert dry.startswith("would import 4 contacts, skipped 2")
    done = _run(db_url, "contacts", "import", "--distributor", str(dana),
                str(FIXTURES / "contacts.csv"), "--now", ISO)
    assert "contacts.csv, line 5: Tom Ray: duplicate of contacts.csv, line 3" in done
    bad = CliRunner().invoke(cli, ["--db", db_url, "care", "contacts", "import",
                                   "--distributor", str(dana), str(FIXTURES / "broken.csv")])
    assert bad.exit_code != 0 and "broken.csv, line 2" in str(bad.exception)

    assert "approved" in _run(db_url, "testimonial", "moderate", str(story), "--approve",
                              "--by", "Mia", "--now", ISO)
    assert "published" in _run(db_url, "testimonial", "moderate", str(story), "--approve",
                               "--publish", "--now", ISO)
    with transaction(engine) as s:
        assert s.scalar(select(records.Testimonial.status)) == "published"
        assert len(s.scalars(select(records.Contact)).all()) == 4


def test_templates_check_refuses_a_sales_pitch(db_url: str, tmp_path: Path) -> None:
    assert "templates ok" in _run(db_url, "templates", "check")
    (tmp_path / "pitch.card.j2").write_text(
        "{% block front %}Hi{% endblock %}{% block inside %}Save 10% today{% endblock %}")
    result = CliRunner().invoke(cli, ["--db", db_url, "care", "templates", "check",
                                      str(tmp_path)])
    assert result.exit_code != 0
    assert "pitch.card.j2, line 1: a percentage off ('0%')" in str(result.exception)
