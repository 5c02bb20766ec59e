"""A forgotten password, reset by email: a single-use link that expires after an hour, sent
through the project's SMTP settings to a real SMTP server on localhost; the answer never tells
whether the email has an account; every old session ends; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage import audit
from patronage.clock import FixedClock
from patronage.db.engine import transaction
from patronage.server import create_app
from patronage.web.resets import RESET_LIFETIME
from tests.e2e.world import EMAILS, NOW, PASSWORD, csrf_of, seed, settings, sign_in
from tests.integration.test_care_delivery_email import Smtp

pytestmark = pytest.mark.storage

NEW = "plum kettle orbit seventeen"
LINK = re.compile(r"https://office\.example/password/reset/([A-Za-z0-9_-]+)")
SAME_ANSWER = "If an account exists for that email"


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _client(engine: Engine, smtp: Smtp, clock: FixedClock) -> TestClient:
    changes = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
               "base_url": "https://office.example", "mail_from": "care@acme.example"}
    app = create_app(settings=settings().model_copy(update=changes), engine=engine, clock=clock,
                     migrate=False)
    return TestClient(app, base_url="https://office.example")


def _ask(client: TestClient, email: str) -> str:
    form = client.get("/password/forgot")
    assert form.status_code == 200
    answer = client.post("/password/forgot", data={"email": email,
                                                   "csrf_token": csrf_of(form.text)})
    assert answer.status_code == 200
    return answer.text


def _link(smtp: Smtp, index: int = -1) -> str:
    body = smtp.messages[index].get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, "the email has no reset link"
    return f"/password/reset/{found.group(1)}"


def _set(client: TestClient, link: str, new: str = NEW) -> tuple[int, str]:
    form = client.get(link)
    if form.status_code != 200:
        return form.status_code, form.text
    done = client.post(link, data={"new": new, "csrf_token": csrf_of(form.text)},
                       follow_redirects=False)
    return done.status_code, done.text


def test_the_sign_in_page_offers_the_forgotten_password_link(engine: Engine,
                                                             smtp: Smtp) -> None:
    seed(engine)
    assert 'href="/password/forgot"' in _client(engine, smtp, FixedClock(NOW)).get(
        "/login").text


def test_a_reset_by_email_sets_the_password_and_ends_old_sessions(engine: Engine,
                                                                  smtp: Smtp) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    signed_in = _client(engine, smtp, clock)
    assert sign_in(signed_in, EMAILS["customer"]).status_code == 303
    visitor = _client(engine, smtp, clock)
    assert SAME_ANSWER in _ask(visitor, EMAILS["customer"].upper())
    [message] = smtp.messages
    assert message["To"] == "cory@example.com"
    assert message["From"].endswith("<care@acme.example>")
    link = _link(smtp)
    weak = _set(visitor, link, "password")
    assert weak[0] == 400 and "common password" in weak[1]
    status, text = _set(visitor, link)
    assert status == 200 and "Your password is set" in text
    assert signed_in.get("/me", follow_redirects=False).status_code == 303
    assert sign_in(_client(engine, smtp, clock), EMAILS["customer"]).status_code == 401
    assert sign_in(_client(engine, smtp, clock), EMAILS["customer"], NEW).status_code == 303
    with transaction(engine) as s:
        assert [r.target for r in audit.recent(s, action="password.reset")] == [
            EMAILS["customer"]]


def test_the_answer_is_the_same_with_or_without_an_account(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    known = _ask(client, EMAILS["customer"])
    unknown = _ask(client, "nobody@example.com")
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", known) == strip.sub("", unknown)
    assert len(smtp.messages) == 1


def test_a_link_works_once(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    _ask(client, EMAILS["customer"])
    link = _link(smtp)
    assert _set(client, link)[0] == 200
    status, text = _set(client, link, "another fine phrase indeed")
    assert status == 400 and "has been used or has expired" in text


def test_a_newer_link_supersedes_the_older(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    _ask(client, EMAILS["customer"])
    _ask(client, EMAILS["customer"])
    first, second = _link(smtp, 0), _link(smtp, 1)
    assert first != second
    assert _set(client, first)[0] == 400
    assert _set(client, second)[0] == 200


def test_a_link_expires_after_an_hour(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    client = _client(engine, smtp, clock)
    _ask(client, EMAILS["customer"])
    clock.advance(RESET_LIFETIME)
    status, text = _set(client, _link(smtp))
    assert status == 400 and "has been used or has expired" in text
    assert sign_in(client, EMAILS["customer"], PASSWORD).status_code == 303


def test_a_forged_link_is_refused(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    assert _set(client, "/password/reset/not-a-real-key")[0] == 400


def test_requests_per_account_are_limited_without_telling(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    answers = {_ask(client, EMAILS["customer"]).count(SAME_ANSWER) for _ in range(5)}
    assert answers == {1} and len(smtp.messages) == 3


def test_the_link_pages_are_not_stored(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    _ask(client, EMAILS["customer"])
    assert client.get(_link(smtp)).headers["cache-control"] == "no-store"


def test_a_reset_does_not_fail_when_mail_is_down(engine: Engine, smtp: Smtp) -> None:
    seed(engine)
    client = _client(engine, smtp, FixedClock(NOW))
    smtp.stop()
    assert SAME_ANSWER in _ask(client, EMAILS["customer"])
    with transaction(engine) as s:
        [failed] = audit.recent(s, action="password.reset_mail_failed")
    assert failed.target == EMAILS["customer"] and "unavailable" in failed.detail
