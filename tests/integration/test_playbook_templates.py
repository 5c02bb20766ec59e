"""A playbook's own templates on a real store (SQLite and PostgreSQL): written and refused with
the field and the reason, adopted with the playbook, used at delivery, set aside for the
company's when they no longer fit; the company's forbidden phrases checked in what is sent."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.care import playbooks as pb
from patronage.care.channels.cards import export_cards
from patronage.care.core.rules import load_rules
from patronage.care.deliver import deliver_due
from patronage.care.playbook_templates import (
    WordingRefused,
    remove_template,
    set_template,
    templates_of,
)
from patronage.care.tasks import task_line
from patronage.cli.main import app
from patronage.compliance.claims import add_claim, company_claims
from patronage.compliance.core.claims import BUILT_IN
from patronage.db.care import Touch
from patronage.db.engine import transaction
from tests.e2e.world import EMAILS, app_for, csrf_of, seed, sign_in
from tests.fixtures.care_data import customer, distributor, touch
from tests.integration.test_care_delivery_email import Smtp, _sender, settings_for, smtp

__all__ = ["smtp"]  # the SMTP server fixture, used by name

pytestmark = pytest.mark.storage

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
COMPANY = load_rules()
runner = CliRunner()


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


def _team(engine: Engine) -> dict[str, int]:
    """Ann leads Ben; Ben serves Sally; Cat (not in Ann's team) serves Tom."""
    with transaction(engine) as s:
        ann = distributor(s, "Ann")
        ben = distributor(s, "Ben", sponsor_id=ann)
        cat = distributor(s, "Cat")
        return {"ann": ann, "ben": ben, "cat": cat, "sally": customer(s, ben, "Sally"),
                "tom": customer(s, cat, "Tom")}


def _leader_book(engine: Engine, ids: dict[str, int]) -> int:
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", COMPANY.rules, NOW)
        set_template(s, ids["ann"], book.id, "birthday", "email",
                     "Many happy returns, {{ member.first_name }}!",
                     "Thinking of you today.\n{{ signer }}", NOW, claims=BUILT_IN)
        pb.share(s, ids["ann"], book.id)
        return book.id


def test_a_template_with_a_forbidden_phrase_is_refused_with_the_field_and_reason(
        engine: Engine) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        add_claim(s, "wonder cream", "health", "our cream is a cosmetic", now=NOW)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", COMPANY.rules, NOW)
        book_id, version = book.id, book.version
    with transaction(engine) as s, pytest.raises(WordingRefused) as err:
        set_template(s, ids["ann"], book_id, "birthday", "email", "Our Wonder  Cream",
                     "Visit www.acme.example\n{{ secret }}", NOW, claims=company_claims(s))
    found = {(p.place, p.reason) for p in err.value.problems}
    assert ("title, line 1", "health claim 'Wonder  Cream': our cream is a cosmetic") in found
    assert any(place == "body, line 1" and "a web address" in reason
               for place, reason in found)
    with transaction(engine) as s:  # nothing written, no new version
        assert templates_of(s, book_id) == []
        assert s.get(type(book), book_id).version == version  # type: ignore[union-attr]
    with transaction(engine) as s, pytest.raises(WordingRefused) as err:
        set_template(s, ids["ann"], book_id, "birthday", "email", "Hi", "{{ secret }}", NOW,
                     claims=company_claims(s))
    assert [p.place for p in err.value.problems] == ["body"]
    assert "unknown variable 'secret'" in err.value.problems[0].reason


def test_an_adopted_template_is_used_at_delivery_and_the_company_s_elsewhere(
        engine: Engine, smtp: Smtp) -> None:
    ids = _team(engine)
    book_id = _leader_book(engine, ids)
    with transaction(engine) as s:
        copy = pb.adopt(s, ids["ben"], book_id, NOW)
        assert [(t.occasion, t.channel) for t in templates_of(s, copy.id)] == [
            ("birthday", "email")]
        for who, owner in (("sally", "ben"), ("tom", "cat")):
            touch(s, ids[who], ids[owner], channel="email", template="birthday",
                  due_at=NOW - timedelta(minutes=5))
    report = deliver_due(engine, NOW, settings=settings_for(smtp), sender_factory=_sender)
    assert len(report.sent) == 2
    subjects = {m["To"].addresses[0].addr_spec: str(m["Subject"]) for m in smtp.messages}
    assert subjects['sally@example.com'] == "Many happy returns, Sally!"
    sent_text = {m["To"].addresses[0].addr_spec: _plain(m)
                 for m in smtp.messages}
    assert "Thinking of you today.\nBen" in sent_text['sally@example.com']
    assert subjects['tom@example.com'] != "Many happy returns, Tom!"  # company


def test_a_leaders_new_template_is_offered_and_taken_with_the_update(engine: Engine) -> None:
    ids = _team(engine)
    book_id = _leader_book(engine, ids)
    with transaction(engine) as s:
        copy = pb.adopt(s, ids["ben"], book_id, NOW)
        # Ben tweaks his copy's wording
        set_template(s, ids["ben"], copy.id, "birthday", "email", "Happy day!", "From Ben",
                     NOW, claims=BUILT_IN)
        assert pb.update_offered(s, ids["ben"]) is None
    with transaction(engine) as s:
        set_template(s, ids["ann"], book_id, "birthday", "card", "Happy birthday",
                     "A little card from your team", NOW, claims=BUILT_IN)
        assert pb.update_offered(s, ids["ben"]) is not None
        pb.answer_update(s, ids["ben"], take=True, now=NOW)
        mine = pb.adopted(s, ids["ben"])
        assert mine is not None
        assert {(t.occasion, t.channel, t.title) for t in templates_of(s, mine.id)} == {
            ("birthday", "email", "Many happy returns, {{ member.first_name }}!"),
            ("birthday", "card", "Happy birthday")}
    with transaction(engine) as s:
        assert remove_template(s, ids["ann"], book_id, "birthday", "card", NOW)
        assert not remove_template(s, ids["ann"], book_id, "birthday", "card", NOW)


def test_a_template_that_no_longer_fits_falls_back_to_the_company_s(
        engine: Engine, smtp: Smtp) -> None:
    ids = _team(engine)
    book_id = _leader_book(engine, ids)
    with transaction(engine) as s:
        pb.adopt(s, ids["ben"], book_id, NOW)
        # since the leader wrote it, the company forbade a phrase it uses
        add_claim(s, "thinking of you", "income", "our own rule", now=NOW)
        touch(s, ids["sally"], ids["ben"], channel="email", template="birthday",
              due_at=NOW - timedelta(minutes=5))
    report = deliver_due(engine, NOW, settings=settings_for(smtp), sender_factory=_sender)
    assert len(report.sent) == 1 and not report.dropped
    (message,) = smtp.messages
    assert str(message["Subject"]) != "Many happy returns, Sally!"  # the company's template
    assert "Thinking of you" not in _plain(message)


def test_rendered_text_with_a_forbidden_phrase_drops_the_touch_with_the_reason(
        engine: Engine, smtp: Smtp, tmp_path: Path) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        # the company's own birthday card and email name the member: a customer whose name is
        # a forbidden phrase brings it into the rendered text
        miracle = customer(s, ids["ben"], "Miracle")
        mail = touch(s, miracle, ids["ben"], channel="email", template="birthday",
                     due_at=NOW - timedelta(minutes=5))
        card = touch(s, miracle, ids["ben"], channel="card", template="birthday",
                     due_at=NOW - timedelta(minutes=5))
    report = deliver_due(engine, NOW, settings=settings_for(smtp), sender_factory=_sender)
    assert not report.sent and smtp.messages == []
    assert report.dropped[mail].startswith("forbidden phrase in the ")
    assert "health claim 'Miracle'" in report.dropped[mail]
    batch = export_cards(engine, NOW, tmp_path, settings=settings_for(smtp))
    assert card in batch.dropped and card not in batch.touch_ids
    with transaction(engine) as s:
        assert s.get(Touch, mail).status == "dropped"  # type: ignore[union-attr]
        row = s.get(Touch, card)
        assert row is not None and row.status == "dropped"
        assert "health claim 'Miracle'" in (row.drop_reason or "")


def test_a_task_line_follows_the_playbook_template(engine: Engine, smtp: Smtp) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ben"], "Ben's way", COMPANY.rules, NOW)
        pb.adopt(s, ids["ben"], book.id, NOW)
        set_template(s, ids["ben"], book.id, "birthday", "task", None,
                     "Ring {{ member.first_name }} with a song", NOW, claims=BUILT_IN)
        tid = touch(s, ids["sally"], ids["ben"], channel="task", template="birthday",
                    due_at=NOW)
        row = s.get(Touch, tid)
        assert row is not None
        assert task_line(s, row, NOW, settings=settings_for(smtp)) == "Ring Sally with a song"
        add_claim(s, "with a song", "income", "our own rule", now=NOW)
        assert "with a song" not in task_line(s, row, NOW, settings=settings_for(smtp))


def test_playbook_templates_from_the_command_line(engine: Engine, db_url: str) -> None:
    ids = _team(engine)
    with transaction(engine) as s:
        book = pb.write_playbook(s, COMPANY, ids["ann"], "Ann's way", COMPANY.rules, NOW)
        book_id = book.id
    base = ["--db", db_url, "care", "playbook", "template", str(book_id), "--author",
            str(ids["ann"]), "--occasion", "birthday", "--channel", "email"]
    refused = runner.invoke(app, [*base, "--title", "Get rich", "--body", "Hello"])
    assert refused.exit_code != 0
    assert "title, line 1: income claim 'Get rich'" in str(refused.exception)
    done = runner.invoke(app, [*base, "--title", "Happy birthday", "--body", "Hello"])
    assert done.exit_code == 0, done.output
    removed = runner.invoke(app, [*base, "--remove"])
    assert removed.exit_code == 0, removed.output
    with transaction(engine) as s:
        assert templates_of(s, book_id) == []


def test_the_playbook_page_words_a_template_and_shows_a_refusal_by_the_field(
        engine: Engine) -> None:
    w = seed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    page = client.get("/playbook")
    assert "Save your playbook (or adopt one)" in page.text
    csrf = csrf_of(page.text)
    assert client.post("/playbook/save", data={"csrf_token": csrf, "rule": [
        r.key for r in COMPANY.rules if r.enabled]}, follow_redirects=False).status_code == 303
    page = client.get("/playbook")
    assert 'id="wording-birthday-email"' in page.text
    refused = client.post("/playbook/template", data={
        "csrf_token": csrf, "occasion": "birthday", "channel": "email",
        "title": "Happy birthday", "body": "Our tea cures colds"})
    assert refused.status_code == 422
    shown = html.unescape(refused.text)
    assert 'id="err-birthday-email-body"' in refused.text
    assert "line 1: health claim 'cures'" in shown
    assert "Our tea cures colds" in shown  # what was typed stays in the field
    saved = client.post("/playbook/template", data={
        "csrf_token": csrf, "occasion": "birthday", "channel": "email",
        "title": "Happy birthday", "body": "Thinking of you, {{ member.first_name }}"},
        follow_redirects=False)
    assert saved.status_code == 303
    with transaction(engine) as s:
        mine = pb.adopted(s, w.ann)
        assert mine is not None
        assert [(t.occasion, t.body) for t in templates_of(s, mine.id)] == [
            ("birthday", "Thinking of you, {{ member.first_name }}")]


def test_a_personal_note_with_a_forbidden_phrase_is_refused_in_the_form(
        engine: Engine) -> None:
    w = seed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    form = client.get(f"/tasks/{w.ann_task}/note")
    assert form.status_code == 200 and "Send this note" in form.text
    csrf = csrf_of(form.text)
    refused = client.post(f"/tasks/{w.ann_task}/note", data={
        "csrf_token": csrf, "body": "Hi Cory!\nThis is your path to financial freedom."})
    assert refused.status_code == 422
    shown = html.unescape(refused.text)
    assert "line 2: income claim 'financial freedom'" in shown
    assert "This is your path to financial freedom." in shown
    sent = client.post(f"/tasks/{w.ann_task}/note", data={
        "csrf_token": csrf, "body": "Hi Cory, thank you!"})
    assert sent.status_code == 200
    assert 'href="mailto:cory@example.com?body=Hi%20Cory%2C%20thank%20you%21"' in sent.text
    other = TestClient(app_for(engine))
    assert sign_in(other, EMAILS["other_distributor"]).status_code == 303
    assert other.get(f"/tasks/{w.ann_task}/note").status_code == 404
