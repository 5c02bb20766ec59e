"""The care tick on a real store (SQLite and PostgreSQL): terminated and inactive members,
member time zones that are not zone names, and contacts a distributor met."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from patronage.care.core.rules import Rules, load_rules
from patronage.care.tasks import task_line
from patronage.care.tick import tick
from patronage.cli.main import app
from patronage.config import Settings
from patronage.db.care import Contact, Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from tests.factories import customer, distributor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = datetime(2025, 3, 1, tzinfo=UTC)
runner = CliRunner()


def _rules(check_in_days: int | None = None) -> Rules:
    rules = load_rules()
    rules = rules.model_copy(update={"settings": rules.settings.model_copy(
        update={"holdout_share": 0.0})})
    if check_in_days is not None:  # a short window: everyone's overdue check-in is due now
        rules = rules.model_copy(update={"rules": tuple(
            r.model_copy(update={"days": check_in_days}) if r.key == "check_in" else r
            for r in rules.rules)})
    return rules


def _touches(engine: Engine) -> list[Touch]:
    with transaction(engine) as s:
        touches = list(s.scalars(select(Touch).order_by(Touch.id)))
        s.expunge_all()
        return touches


def _set(engine: Engine, member: int, **values: object) -> None:
    with transaction(engine) as s:
        s.execute(update(Member).where(Member.id == member).values(**values))


def test_terminated_member_gets_no_automated_touch_but_an_inactive_one_does(
        engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana", joined_at=JOINED)
        kw: dict[str, Any] = {"joined_at": JOINED, "birth_month": 11, "birth_day": 26,
              "consents": {"email": True}}
        tom = customer(s, dana, "Tom", email="tom@example.com", **kw)
        ivy = customer(s, dana, "Ivy", email="ivy@example.com", **kw)
    _set(engine, tom, status="terminated")
    _set(engine, ivy, status="inactive")
    done = tick(engine, NOW, _rules(check_in_days=1))
    rows = {(t.rule_key, t.member_id): (t.status, t.drop_reason) for t in _touches(engine)}
    for key in ("birthday_email", "birthday_call", "check_in"):
        assert rows[(key, tom)] == ("dropped", "terminated")
        # Inactive customers are who check-ins are for.
        assert rows[(key, ivy)] == ("planned", None)
    assert done.dropped["terminated"] == 3
    # The drop is recorded once: a second tick adds nothing for Tom.
    again = tick(engine, NOW, _rules(check_in_days=1))
    assert "terminated" not in again.dropped
    assert sum(t.member_id == tom for t in _touches(engine)) == 3


def test_unknown_time_zone_falls_back_to_the_company_zone(engine: Engine, db_url: str) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana", joined_at=JOINED)
        kw: dict[str, Any] = {"joined_at": JOINED, "birth_month": 11, "birth_day": 26,
              "consents": {"email": True}}
        zed = customer(s, dana, "Zed", email="zed@example.com", **kw)
        lou = customer(s, dana, "Lou", email="lou@example.com", timezone="America/Chicago",
                       **kw)
    _set(engine, zed, timezone="Mars/Olympus_Mons")  # e.g. imported before zones were checked
    done = tick(engine, NOW, _rules(), company_zone="Pacific/Auckland")
    assert done.zone_fallbacks == 1
    due = {t.member_id: t.due_at for t in _touches(engine) if t.rule_key == "birthday_email"}
    # Zed's birthday at 10:00 in Auckland (UTC+13 in November); Lou's in Chicago (UTC-6).
    assert due[zed] == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    assert due[lou] == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    # The command line says how many members fell back.
    out = runner.invoke(app, ["--db", db_url, "care", "tick", "--now", NOW.isoformat(),
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["zone_fallbacks"] == 1
    text = runner.invoke(app, ["--db", db_url, "care", "tick", "--now", NOW.isoformat()])
    assert "1 members have a time zone that is not a known zone name" in text.output


def test_contact_met_gives_the_distributor_a_note_task_once(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s, "Dana", joined_at=JOINED)
        sally = customer(s, dana, "Sally", joined_at=JOINED)
        met = NOW - timedelta(days=2, hours=12)  # the welcome task waits 3 days: due today

        def contact(name: str, source: str, when: datetime | None, member: int | None = None,
                    created: datetime = met) -> int:
            c = Contact(owner_id=dana, member_id=member, first_name=name, source=source,
                        met_at=when, created_at=created)
            s.add(c)
            s.flush()
            return c.id

        sam = contact("Sam", "met", None)  # met: the record's date is when
        lee = contact("Lee", "vcard", met, member=sally)  # a meeting date set on an import
        contact("Ola", "vcard", None)  # imported from a phone: not someone just met
        contact("Far", "met", NOW - timedelta(days=20), created=NOW - timedelta(days=20))
    tick(engine, NOW, _rules())
    notes = [t for t in _touches(engine) if t.occasion_key.startswith("contact:")]
    assert sorted((t.occasion_key, t.member_id, t.owner_id, t.channel, t.status, t.summary)
                  for t in notes) == sorted([
        (f"contact:{sam}", dana, dana, "task", "planned", "Send Sam a nice-to-meet-you note"),
        (f"contact:{lee}", sally, dana, "task", "planned", "Send Lee a nice-to-meet-you note")])
    # Shown in the distributor's task list as its summary (no template names the contact).
    with transaction(engine) as s:
        lines = sorted(task_line(s, t, NOW, settings=Settings()) for t in notes)
    assert lines == ["Send Lee a nice-to-meet-you note", "Send Sam a nice-to-meet-you note"]
    # Sam becomes a member the next day: the note is not made again under the new member.
    with transaction(engine) as s:
        sam_member = customer(s, dana, "Sam", joined_at=NOW - timedelta(hours=1))
        s.execute(update(Contact).where(Contact.id == sam).values(member_id=sam_member))
    tick(engine, NOW + timedelta(days=1), _rules())
    again = [t for t in _touches(engine) if t.occasion_key == f"contact:{sam}"]
    assert [(t.member_id, t.status) for t in again] == [(dana, "planned")]
