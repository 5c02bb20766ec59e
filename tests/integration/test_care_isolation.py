"""One bad stored record never stops a company-wide care job: it is skipped with the reason,
the others go on, and the command exits non-zero at the end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from patronage.care.deliver import deliver_due
from patronage.care.tick import explain_member, tick
from patronage.cli.main import app
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from tests.factories import customer, distributor
from tests.fixtures import care_data
from tests.integration.test_care_delivery_email import Smtp, _sender, settings_for, smtp

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = NOW - timedelta(days=400)
SENT = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
pytestmark = pytest.mark.storage
__all__ = ["smtp"]  # the SMTP server fixture
runner = CliRunner()


def _company_with_a_member_from_year_one(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        dana = distributor(s, "Dana", joined_at=JOINED)
        sally = customer(s, dana, "Sally", joined_at=JOINED, email="s@example.com",
                         birth_month=11, birth_day=26, consents={"email": True})
        old = customer(s, dana, "Olaf", joined_at=JOINED, email="o@example.com",
                       birth_month=11, birth_day=26, consents={"email": True})
        # Old data, stored before the door was checked.
        s.execute(update(Member).where(Member.id == old)
                  .values(joined_at=datetime(1, 1, 1, tzinfo=UTC)))
    return {"dana": dana, "sally": sally, "old": old}


def test_tick_skips_a_member_with_an_impossible_join_date_and_plans_the_others(
        engine: Engine) -> None:
    ids = _company_with_a_member_from_year_one(engine)
    summary = tick(engine, NOW)
    assert summary.failed == {
        ids["old"]: "joined_at 0001-01-01T00:00:00+00:00 is before 1970-01-01"}
    with transaction(engine) as s:
        planned = set(s.scalars(select(Touch.member_id).where(Touch.rule_key == "birthday_email")))
    assert planned == {ids["sally"]}
    assert summary.as_dict()["failed"] == {
        str(ids["old"]): "joined_at 0001-01-01T00:00:00+00:00 is before 1970-01-01"}


def test_plan_explains_the_others_and_refuses_the_bad_member_by_name(engine: Engine) -> None:
    ids = _company_with_a_member_from_year_one(engine)
    lines = {line["rule"]: line["outcome"]
             for line in explain_member(engine, ids["sally"], NOW).lines}
    assert lines["birthday_email"] == "planned"
    with pytest.raises(PatronageError,
                       match=rf"member {ids['old']}: joined_at 0001-01-01.* is before 1970-01-01"):
        explain_member(engine, ids["old"], NOW)


def test_care_tick_command_goes_on_reports_and_exits_non_zero(engine: Engine,
                                                                db_url: str) -> None:
    ids = _company_with_a_member_from_year_one(engine)
    done = runner.invoke(app, ["--db", db_url, "care", "tick", "--now", NOW.isoformat()])
    assert done.exit_code == 1
    assert "1 member failed" in done.output
    assert f"member {ids['old']}: joined_at 0001-01-01" in done.output
    assert "touches planned" in done.output
    as_json = runner.invoke(app, ["--db", db_url, "care", "tick", "--now",
                                  (NOW + timedelta(hours=1)).isoformat(), "--json"])
    assert as_json.exit_code == 1
    assert list(json.loads(as_json.output)["failed"]) == [str(ids["old"])]
    shown = runner.invoke(app, ["--db", db_url, "care", "plan", "--member", str(ids["sally"]),
                                "--now", NOW.isoformat(), "--json"])
    assert shown.exit_code == 0, shown.output


BAD_ADDRESSES = {
    "crlf": "bad@example.com\r\nBcc: all@victim.example",
    "two": '"evil"@x.com, other@victim.example',
}


def _mail_with_bad_stored_addresses(engine: Engine) -> dict[str, int]:
    """Four customers with an email due; two addresses were stored before they were checked."""
    with transaction(engine) as s:
        dana = care_data.distributor(s)
        out: dict[str, int] = {}
        for name in ("ann", "crlf", "two", "zed"):
            member = care_data.customer(s, dana, name.title())
            out[name] = care_data.touch(s, member, dana, channel="email",
                                        template="birthday", due_at=SENT)
            out[f"member_{name}"] = member
            if name in BAD_ADDRESSES:
                s.execute(update(Member).where(Member.id == member)
                          .values(email=BAD_ADDRESSES[name]))
    return out


def test_deliver_fails_a_bad_stored_address_and_sends_the_others(engine: Engine,
                                                                  smtp: Smtp) -> None:
    ids = _mail_with_bad_stored_addresses(engine)
    report = deliver_due(engine, SENT, settings=settings_for(smtp), sender_factory=_sender)
    assert sorted(report.sent) == sorted([ids["ann"], ids["zed"]])
    assert set(report.failed) == {ids["crlf"], ids["two"]}
    assert report.failed[ids["crlf"]].startswith(
        f"member {ids['member_crlf']}: email address is not valid: ")
    assert "Quoting the part before the @-sign" in report.failed[ids["two"]]
    assert sorted(r for rs in smtp.recorder.recipients for r in rs) == [
        "ann@example.com", "zed@example.com"]
    with transaction(engine) as s:
        for name in ("crlf", "two"):
            row = s.get(Touch, ids[name])
            assert row is not None and row.status == "failed"
            assert row.last_error == report.failed[ids[name]]
    again = deliver_due(engine, SENT + timedelta(hours=1), settings=settings_for(smtp),
                        sender_factory=_sender)
    assert again.sent == [] and again.failed == {}


def test_an_unexpected_error_on_one_touch_fails_only_that_touch(
        engine: Engine, smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    import patronage.care.deliver as deliver

    ids = _mail_with_bad_stored_addresses(engine)
    real = deliver.build_context

    def broken_for_zed(session: object, touch: Touch, *args: object, **kw: object) -> object:
        if touch.id == ids["zed"]:
            raise ZeroDivisionError("a bug met by one record")
        return real(session, touch, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(deliver, "build_context", broken_for_zed)
    report = deliver_due(engine, SENT, settings=settings_for(smtp), sender_factory=_sender)
    assert report.sent == [ids["ann"]]
    assert report.failed[ids["zed"]] == (
        f"member {ids['member_zed']}: ZeroDivisionError: a bug met by one record")


def test_care_deliver_command_reports_the_failed_and_exits_non_zero(
        engine: Engine, db_url: str, smtp: Smtp, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _mail_with_bad_stored_addresses(engine)
    monkeypatch.setenv("PATRONAGE_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("PATRONAGE_MAIL_FROM", "care@acme.example")
    done = runner.invoke(app, ["--db", db_url, "care", "deliver", "--now", SENT.isoformat()])
    assert done.exit_code == 1, done.output
    assert done.output.startswith("2 emails sent, 0 dropped, 0 deferred (will retry), 2 failed")
    assert f"touch {ids['crlf']}: member {ids['member_crlf']}: email address is not valid" \
        in done.output
    assert len(smtp.messages) == 2


def test_a_touch_past_the_lookback_window_is_dropped_as_late(engine: Engine,
                                                             smtp: Smtp) -> None:
    with transaction(engine) as s:
        dana = care_data.distributor(s)
        sally = care_data.customer(s, dana)
        stale = care_data.touch(s, sally, dana, channel="email", template="birthday",
                                due_at=SENT - timedelta(days=3, minutes=1))
        recent = care_data.touch(s, sally, dana, channel="email", template="check_in",
                                 occasion_key="k", due_at=SENT - timedelta(days=3))
    report = deliver_due(engine, SENT, settings=settings_for(smtp), sender_factory=_sender)
    assert report.sent == [recent]
    assert report.dropped == {stale: "late: due 2026-10-17T13:59:00+00:00, more than 3 days "
                                     "before this run"}
    with transaction(engine) as s:
        row = s.get(Touch, stale)
        assert row is not None and (row.status, row.drop_reason) == (
            "dropped", report.dropped[stale])


def test_care_cards_export_prints_the_others_and_exits_non_zero(
        engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import patronage.care.channels.cards as cards

    with transaction(engine) as s:
        dana = care_data.distributor(s)
        ids = [care_data.touch(s, care_data.customer(s, dana, name), dana, channel="card",
                               template="holiday", due_at=SENT) for name in ("Ann", "Bob")]
        late = care_data.touch(s, care_data.customer(s, dana, "Cy"), dana, channel="card",
                               template="holiday", due_at=SENT - timedelta(days=10))
    real = cards.build_context

    def broken(session: object, row: Touch, *args: object, **kw: object) -> object:
        if row.id == ids[0]:
            raise ZeroDivisionError("a bug met by one record")
        return real(session, row, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cards, "build_context", broken)
    done = runner.invoke(app, ["--db", db_url, "care", "cards", "export", "--out", str(tmp_path),
                               "--now", SENT.isoformat()])
    assert done.exit_code == 1, done.output
    assert "1 cards printed, 1 dropped, 1 failed" in done.output
    assert f"touch {ids[0]} not printed: member" in done.output
    assert f"touch {late} not printed: late: due" in done.output
    assert len(list(tmp_path.glob("cards-*.pdf"))) == 1


def test_care_cards_export_fails_a_card_the_fonts_cannot_print_and_names_the_characters(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    with transaction(engine) as s:
        dana = care_data.distributor(s)
        ann = care_data.touch(s, care_data.customer(s, dana, "Ann"), dana, channel="card",
                              template="holiday", due_at=SENT)
        kim = care_data.touch(s, care_data.customer(s, dana, "김민"), dana, channel="card",
                              template="holiday", due_at=SENT)
    done = runner.invoke(app, ["--db", db_url, "care", "cards", "export", "--out", str(tmp_path),
                               "--now", SENT.isoformat()])
    assert done.exit_code == 1, done.output
    assert "1 cards printed, 0 dropped, 1 failed" in done.output
    assert (f"touch {kim} not printed: member" in done.output
            and "cannot print: '김', '민'" in done.output)
    with transaction(engine) as s:
        statuses = {t: s.get(Touch, t).status for t in (ann, kim)}  # type: ignore[union-attr]
    assert statuses == {ann: "sent", kim: "failed"}
