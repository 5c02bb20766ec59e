"""Signing in and out: Argon2 passwords, the session cookie, CSRF, rate limiting, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage import audit
from patronage.clock import FixedClock
from patronage.db.accounts import Account, LoginAttempt
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.signin.cookie import COOKIE
from patronage.web.accounts import MAX_FAILURES
from tests.e2e.world import EMAILS, NOW, PASSWORD, app_for, csrf_of, seed, sign_in

pytestmark = pytest.mark.storage


@pytest.fixture
def client(engine: Engine) -> TestClient:
    seed(engine)
    return TestClient(app_for(engine))


def test_password_is_stored_as_an_argon2_hash(client: TestClient, engine: Engine) -> None:
    with transaction(engine) as s:
        stored = s.scalar(select(Account.password_hash).where(
            Account.email == EMAILS["distributor"]))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_distributor_signs_in_and_lands_on_today(client: TestClient) -> None:
    response = sign_in(client, EMAILS["distributor"])
    assert response.status_code == 303 and response.headers["location"] == "/today"
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over http in tests
    page = client.get("/today")
    assert page.status_code == 200 and "Worth doing today" in page.text


def test_each_role_lands_on_its_home(engine: Engine) -> None:
    seed(engine)
    for role, home in (("staff", "/company"), ("customer", "/me")):
        client = TestClient(app_for(engine))
        assert sign_in(client, EMAILS[role]).headers["location"] == home


def test_bad_password_is_refused_and_audited(client: TestClient, engine: Engine) -> None:
    response = sign_in(client, EMAILS["distributor"], "wrong password")
    assert response.status_code == 401
    assert "do not match" in response.text
    assert client.get("/today", follow_redirects=False).status_code == 303
    with transaction(engine) as s:
        rows = audit.recent(s, action="login.failed")
    assert [r.target for r in rows] == [EMAILS["distributor"]]
    assert rows[0].ip == "testclient"


def test_unknown_email_gets_the_same_answer(client: TestClient) -> None:
    response = sign_in(client, "nobody@example.com")
    assert response.status_code == 401 and "do not match" in response.text


def test_sign_in_is_audited(client: TestClient, engine: Engine) -> None:
    sign_in(client, EMAILS["staff"])
    with transaction(engine) as s:
        assert [r.actor for r in audit.recent(s, action="login.ok")] == [
            f"staff:{EMAILS['staff']}"]


def test_too_many_failures_are_rate_limited_then_released(engine: Engine) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    client = TestClient(app_for(engine, clock))
    for _ in range(MAX_FAILURES):
        assert sign_in(client, EMAILS["customer"], "guess").status_code == 401
    blocked = sign_in(client, EMAILS["customer"])  # even the right password
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    # Another email from the same address is not blocked.
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    clock.advance(timedelta(minutes=16))
    later = TestClient(app_for(engine, clock))
    assert sign_in(later, EMAILS["customer"], "guess").status_code == 401  # not 429 any more
    with transaction(engine) as s:  # the failures outside the window are forgotten
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    assert sign_in(later, EMAILS["customer"]).status_code == 303
    with transaction(engine) as s:
        assert len(audit.recent(s, action="login.blocked")) == 1


def test_disabled_account_cannot_sign_in_and_is_signed_out(client: TestClient,
                                                            engine: Engine) -> None:
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    with transaction(engine) as s:
        account = s.scalar(select(Account).where(Account.email == EMAILS["distributor"]))
        assert account is not None
        account.disabled_at = NOW
    assert client.get("/today", follow_redirects=False).status_code == 303
    assert sign_in(client, EMAILS["distributor"]).status_code == 401


def test_post_without_csrf_token_is_refused(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"email": EMAILS["staff"], "password": PASSWORD})
    assert response.status_code == 403 and "did not come from this site" in response.text
    wrong = client.post("/login", data={"email": EMAILS["staff"], "password": PASSWORD,
                                        "csrf_token": csrf_of(page.text) + "x"})
    assert wrong.status_code == 403


def test_signed_in_post_without_csrf_is_refused_and_changes_nothing(engine: Engine) -> None:
    world = seed(engine)
    client = TestClient(app_for(engine))
    sign_in(client, EMAILS["distributor"])
    response = client.post(f"/tasks/{world.ann_task}/done", data={})
    assert response.status_code == 403
    htmx = client.post(f"/tasks/{world.ann_task}/done", headers={"X-CSRF-Token": "forged"})
    assert htmx.status_code == 403
    with transaction(engine) as s:
        touch = s.get(Touch, world.ann_task)
        assert touch is not None and touch.status == "planned"


def test_tampered_cookie_is_nobody(client: TestClient) -> None:
    response = sign_in(client, EMAILS["staff"])
    value = response.cookies[COOKIE]
    client.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/company", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, EMAILS["staff"])
    page = client.get("/company")
    assert client.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 200
    assert client.get("/company", follow_redirects=False).headers["location"].startswith(
        "/login")


def test_next_only_follows_paths_on_this_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    response = client.post("/login", data={"email": EMAILS["staff"], "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text),
                                           "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/company"
    client2 = TestClient(client.app)
    page = client2.get("/company/members", follow_redirects=True)
    assert 'value="/company/members"' in page.text
    response = client2.post("/login", data={"email": EMAILS["staff"], "password": PASSWORD,
                                            "csrf_token": csrf_of(page.text),
                                            "next": "/company/members"},
                            follow_redirects=False)
    assert response.headers["location"] == "/company/members"


def test_password_change_needs_the_current_one_and_is_audited(client: TestClient,
                                                              engine: Engine) -> None:
    sign_in(client, EMAILS["customer"])
    page = client.get("/account")
    token = csrf_of(page.text)
    bad = client.post("/account/password", data={"csrf_token": token, "current": "nope",
                                                  "new": "a new password"})
    assert bad.status_code == 400 and "not your current password" in bad.text
    ok = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                 "new": "a new password"})
    assert ok.status_code == 200 and "changed" in ok.text
    assert sign_in(TestClient(client.app), EMAILS["customer"], "a new password"
                   ).status_code == 303
    with transaction(engine) as s:
        assert len(audit.recent(s, action="password.change")) == 1


def test_pages_forbid_framing_and_foreign_scripts_but_api_docs_are_left_alone(
        client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"
    docs = client.get("/docs")  # its own policy: its one inline script, by hash
    assert "script-src 'self' 'sha256-" in docs.headers["content-security-policy"]


@pytest.mark.parametrize(("new", "reason"), [
    ("12345678", "common password"), ("password", "common password"),
    ("        ", "too easy to guess"), ("cory@example.com", "too easy to guess"),
    ("a" * 129, "at most 128 characters"),
])
def test_a_weak_new_password_is_refused_and_the_old_one_kept(client: TestClient, new: str,
                                                             reason: str) -> None:
    sign_in(client, EMAILS["customer"])
    token = csrf_of(client.get("/account").text)
    refused = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                     "new": new})
    assert refused.status_code == 400 and reason in refused.text
    assert client.get("/me", follow_redirects=False).status_code == 200  # still signed in
    assert sign_in(TestClient(client.app), EMAILS["customer"], new).status_code == 401
    assert sign_in(TestClient(client.app), EMAILS["customer"]).status_code == 303
