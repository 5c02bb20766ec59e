"""Team playbooks on a real store (SQLite and PostgreSQL): a leader writes and shares one, a
team member adopts it (their copy), the tick plans that member's customers by it; a leader's
change is offered, not forced."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.care import playbooks as pb
from patronage.care.core.rules import load_rules
from patronage.care.tick import explain_member, tick
from patronage.cli.main import app
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.errors import NotFound, Problems
from tests.factories import customer, distributor

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
JOINED = datetime(2025, 3, 1, tzinfo=UTC)
COMPANY = load_rules()
runner = CliRunner()


def _team(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        ann = distributor(s, "Ann", joined_at=JOINED, email="ann@example.com")
        ben = distributor(s, "Ben", sponsor=ann, joined_at=JOINED, email="ben@example.com")
        cat = distributor(s, "Cat", joined_at=JOINED, email="cat@example.com")
        ids = {"ann": ann, "ben": ben, "cat": cat}
        for owner in ("ben", "cat"):
            ids[f"{owner}_customer"] = customer(
                s, ids[owner], f"Sue{owner}", joined_at=JOINED, email=f"sue{owner}@example.com",
                birth_month=11, birth_day=26, consents={"email": True})
    return ids


def _quiet_birthdays() -> list[dict[str, object]]:
    """The company's rules, but birthdays get a call and no email."""
    return [{**r, "enabled": False} if r["key"] == "birthday_email" else r
            for r in pb.rules_data(COMPANY.active)]


def test_a_shared_playbook_adopted_plans_that_members_customers(engine: Engine) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", _quiet_birthdays(), NOW)
        with pytest.raises(NotFound):  # not shared yet
            pb.adopt(s, ids["ben"], book.id, NOW)
    with transaction(engine) as s:
        pb.share(s, ids["ann"], book.id)
        assert [b.id for b in pb.offered(s, ids["ben"])] == [book.id]
        assert pb.offered(s, ids["cat"]) == []  # not Cat's upline
        copy = pb.adopt(s, ids["ben"], book.id, NOW)
        assert copy.id != book.id and copy.author_id == ids["ben"]
        assert copy.based_on_id == book.id and copy.rules == book.rules
    tick(engine, NOW, COMPANY)
    with transaction(engine) as s:
        keys = {(t.member_id, t.rule_key) for t in s.scalars(select(Touch))}
    assert (ids["cat_customer"], "birthday_email") in keys  # company rules
    assert (ids["ben_customer"], "birthday_call") in keys
    assert (ids["ben_customer"], "birthday_email") not in keys  # Ann's playbook
    lines = explain_member(engine, ids["ben_customer"], NOW, COMPANY).lines
    assert "birthday_email" not in {line["rule"] for line in lines}


def test_a_leaders_change_is_offered_not_forced(engine: Engine) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", _quiet_birthdays(), NOW)
        pb.share(s, ids["ann"], book.id)
        copy = pb.adopt(s, ids["ben"], book.id, NOW)
        # Ben tweaks his copy: thank-you emails for every order
        mine = [{**r, "every": 1} if r["key"] == "order_thanks" else r
                for r in pb.rules_data(pb.decode(COMPANY, copy))]
        pb.write_playbook(s, COMPANY, ids["ben"], "Ben's way", mine, NOW, playbook_id=copy.id)
        assert pb.update_offered(s, ids["ben"]) is None
    with transaction(engine) as s:
        pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way",
                          pb.rules_data(COMPANY.active), NOW, playbook_id=book.id)
        update = pb.update_offered(s, ids["ben"])
        assert update is not None and update.source.version == 2
        # not forced: Ben's copy is as he left it until he answers
        assert [r.every for r in pb.decode(COMPANY, pb.adopted(s, ids["ben"]))
                if r.key == "order_thanks"] == [1]
        pb.answer_update(s, ids["ben"], take=False, now=NOW)
        assert pb.update_offered(s, ids["ben"]) is None
        assert [r.every for r in pb.decode(COMPANY, pb.adopted(s, ids["ben"]))
                if r.key == "order_thanks"] == [1]
    with transaction(engine) as s:
        pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", _quiet_birthdays(), NOW,
                          playbook_id=book.id)
        pb.answer_update(s, ids["ben"], take=True, now=NOW)
        taken = pb.adopted(s, ids["ben"])
        assert taken is not None and taken.rules == s.get(type(taken), book.id).rules


def test_a_playbook_outside_the_company_bounds_is_refused_whole(engine: Engine) -> None:
    ids = _team(engine)
    with transaction(engine) as s, pytest.raises(Problems) as err:
        pb.write_playbook(s, COMPANY, ids["ann"], "Loud", [
            {"key": "birthday_email", "occasion": "birthday", "channel": "sms",
             "template": "birthday"}], NOW)
    assert "keep its occasion and channel" in str(err.value.problems[0])
    with transaction(engine) as s:
        assert pb.offered(s, ids["ben"]) == []


def test_playbooks_from_the_command_line(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ids = _team(engine)
    db = ["--db", db_url, "care", "playbook"]
    source = tmp_path / "ann.toml"
    source.write_text('[[rules]]\nkey = "birthday_call"\noccasion = "birthday"\n'
                      'channel = "task"\ntemplate = "birthday"\npriority = 99\n')
    wrote = runner.invoke(app, [*db, "write", "--name", "Ann's way", "--from", str(source),
                                "--author", str(ids["ann"]), "--now", NOW.isoformat(),
                                "--json"])
    assert wrote.exit_code == 0, wrote.output
    book = json.loads(wrote.output)["id"]
    assert runner.invoke(app, [*db, "share", str(book), "--author", str(ids["ann"])]
                         ).exit_code == 0
    offered = json.loads(runner.invoke(app, [*db, "list", "--member", str(ids["ben"]),
                                             "--json"]).output)
    assert [b["id"] for b in offered["offered"]] == [book] and offered["follows"] is None
    took = runner.invoke(app, [*db, "adopt", str(book), "--member", str(ids["ben"]),
                               "--now", NOW.isoformat()])
    assert took.exit_code == 0 and "follows playbook" in took.output
    runner.invoke(app, ["--db", db_url, "care", "tick", "--now", NOW.isoformat()])
    with transaction(engine) as s:
        keys = {t.rule_key for t in s.scalars(select(Touch).where(
            Touch.member_id == ids["ben_customer"]))}
    assert keys == {"birthday_call"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[settings]\nholdout_share = 0\n')
    refused = runner.invoke(app, [*db, "write", "--name", "x", "--from", str(bad)])
    assert refused.exit_code != 0
    assert f"{bad}: settings: a playbook holds only rules" in str(refused.exception)


def test_a_playbook_that_no_longer_fits_the_company_is_followed_as_the_company(
        engine: Engine) -> None:
    """The company dropped its holidays since Ann wrote her playbook (which has holiday
    rules): Ben's customers are planned by the company's rules, and the tick goes on."""
    ids = _team(engine)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", _quiet_birthdays(), NOW)
        pb.share(s, ids["ann"], book.id)
        pb.adopt(s, ids["ben"], book.id, NOW)
    plain = COMPANY.model_copy(update={"holidays": {}, "rules": tuple(
        r for r in COMPANY.rules if r.occasion != "holiday")})
    tick(engine, NOW, plain)
    with transaction(engine) as s:
        keys = {t.rule_key for t in s.scalars(select(Touch).where(
            Touch.member_id == ids["ben_customer"]))}
    assert "birthday_email" in keys  # the company's rules, not Ann's
