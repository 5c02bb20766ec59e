"""One bad stored record never stops a company-wide care job: it is skipped with the reason,
the others go on, and the command exits non-zero at the end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from patronage.care.tick import explain_member, tick
from patronage.cli.main import app
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from tests.factories import customer, distributor

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = NOW - timedelta(days=400)
pytestmark = pytest.mark.storage
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
