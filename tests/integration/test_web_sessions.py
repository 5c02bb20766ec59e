"""Sessions are kept on the server: sign-out, a password change and a staff member end them, and
a copied cookie stops working at once, on the pages and on the API; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage import audit
from patronage.cli.main import app as cli
from patronage.clock import FixedClock
from patronage.db.accounts import WebSessionRecord
from patronage.db.engine import transaction
from patronage.errors import NotFound
from patronage.signin.cookie import COOKIE
from patronage.signin.sessions import SESSION_LIFETIME, end_sessions_for
from patronage.web.accounts import disable_account
from tests.e2e.world import EMAILS, NOW, PASSWORD, World, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage

NEW_PASSWORD = "plum kettle orbit seventeen"


def _signed_in(engine: Engine, email: str, clock: FixedClock | None = None) -> TestClient:
    client = TestClient(app_for(engine, clock))
    assert sign_in(client, email).status_code == 303
    return client


def _replay(engine: Engine, cookie: str, clock: FixedClock | None = None) -> TestClient:
    """Another browser (or an attacker) presenting a copy of a session cookie."""
    client = TestClient(app_for(engine, clock))
    client.cookies.set(COOKIE, cookie)
    return client


def _skip(client: TestClient, world: World, csrf: str) -> int:
    return client.post(f"/api/v1/subscriptions/{world.cory_sub}/skip",
                       headers={"X-CSRF-Token": csrf}).status_code


def test_a_copied_cookie_is_refused_after_sign_out(engine: Engine) -> None:
    world = seed(engine)
    client = _signed_in(engine, EMAILS["customer"])
    page = client.get("/me")
    assert page.status_code == 200
    csrf, cookie = csrf_of(page.text), client.cookies[COOKIE]
    assert _replay(engine, cookie).get("/me", follow_redirects=False).status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    stolen = _replay(engine, cookie)
    assert stolen.get("/me", follow_redirects=False).status_code == 303
    assert stolen.get("/api/v1/members").status_code == 401
    assert _skip(stolen, world, csrf) == 401
    with transaction(engine) as s:
        record = s.scalars(select(WebSessionRecord)).one()
        assert record.ended_at == NOW and record.ended_reason == "sign-out"


def test_a_password_change_ends_every_session_of_the_account_but_keeps_this_one(
        engine: Engine) -> None:
    world = seed(engine)
    laptop = _signed_in(engine, EMAILS["customer"])
    phone = _signed_in(engine, EMAILS["customer"])
    other = _signed_in(engine, EMAILS["other_customer"])
    page = laptop.get("/account")
    old_csrf, old_cookie = csrf_of(page.text), laptop.cookies[COOKIE]
    changed = laptop.post("/account/password", data={"csrf_token": old_csrf,
                                                     "current": PASSWORD, "new": NEW_PASSWORD})
    assert changed.status_code == 200 and "changed" in changed.text
    assert phone.get("/me", follow_redirects=False).status_code == 303
    assert _replay(engine, old_cookie).get("/me", follow_redirects=False).status_code == 303
    assert _skip(_replay(engine, old_cookie), world, old_csrf) == 401
    # The browser that changed it carries on with a new session (and a new CSRF token).
    assert laptop.cookies[COOKIE] != old_cookie
    assert laptop.get("/me", follow_redirects=False).status_code == 200
    assert other.get("/me", follow_redirects=False).status_code == 200


def test_a_session_ends_after_its_lifetime_by_the_app_clock(engine: Engine) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    client = _signed_in(engine, EMAILS["distributor"], clock)
    clock.advance(SESSION_LIFETIME - timedelta(minutes=1))
    assert client.get("/today", follow_redirects=False).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get("/today", follow_redirects=False).status_code == 303


def test_staff_end_a_users_sessions_from_the_cli(engine: Engine, db_url: str) -> None:
    seed(engine)
    wall = FixedClock(datetime.now(UTC))  # the CLI works at wall-clock time
    ann = _signed_in(engine, EMAILS["distributor"], wall)
    staff = _signed_in(engine, EMAILS["staff"], wall)
    result = CliRunner().invoke(cli, ["--db", db_url, "accounts", "end-sessions",
                                      EMAILS["distributor"].upper()])
    assert result.exit_code == 0, result.output
    assert "1 session" in result.output and EMAILS["distributor"] in result.output
    assert ann.get("/today", follow_redirects=False).status_code == 303
    assert staff.get("/company", follow_redirects=False).status_code == 200
    assert sign_in(ann, EMAILS["distributor"]).status_code == 303  # signing in again works
    with transaction(engine) as s:
        entries = audit.recent(s, action="account.end_sessions")
    assert [(e.actor, e.target) for e in entries] == [("cli", EMAILS["distributor"])]


def test_ending_sessions_of_an_unknown_email_names_it(engine: Engine, db_url: str) -> None:
    seed(engine)
    with transaction(engine) as s, pytest.raises(NotFound, match=r"nobody@example\.com"):
        end_sessions_for(s, "nobody@example.com", now=NOW, actor="test")
    result = CliRunner().invoke(cli, ["--db", db_url, "accounts", "end-sessions",
                                      "nobody@example.com"])
    assert result.exit_code == 1


def test_disabling_an_account_ends_its_sessions(engine: Engine) -> None:
    seed(engine)
    _signed_in(engine, EMAILS["distributor"])
    with transaction(engine) as s:
        disable_account(s, EMAILS["distributor"], now=NOW, actor="test")
        record = s.scalars(select(WebSessionRecord)).one()
        assert record.ended_at == NOW and record.ended_reason == "account disabled"
