"""The API honours the web sign-in: the same role scoping, and a change made with the session
cookie needs the session's CSRF token; on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage.db.engine import transaction
from patronage.signin.cookie import COOKIE, WebSession, cookie_header
from patronage.signin.sessions import start_session
from patronage.web.accounts import create_account
from tests.integration.test_api_support import API, NOW, Company, app_for, company


def _signed_in(engine: Engine, client: TestClient, role: str, member_id: int | None,
               csrf: str = "csrf-token-of-this-session") -> None:
    with transaction(engine) as s:
        account = create_account(s, email=f"{role}{member_id}@example.com",
                                 password="a long enough password", role=role,
                                 member_id=member_id, now=NOW)
        key = start_session(s, account.id, now=NOW)
    header = cookie_header(client.app.state.settings,  # type: ignore[attr-defined]
                           WebSession(csrf=csrf, account_id=account.id, key=key))
    client.cookies.set(COOKIE, header.split(";")[0].split("=", 1)[1])


def _setup(engine: Engine) -> tuple[Company, TestClient]:
    c = company(engine)
    return c, app_for(engine)


def test_a_signed_in_distributor_gets_their_own_scope_through_the_api(engine: Engine) -> None:
    c, client = _setup(engine)
    _signed_in(engine, client, "distributor", c.mid)
    ids = {m["id"] for m in client.get(f"{API}/members").json()["items"]}
    assert ids == {c.mid, c.mid_customer}
    assert client.get(f"{API}/members/{c.other_customer}").status_code == 404


def test_a_change_with_the_cookie_needs_the_csrf_header(engine: Engine) -> None:
    c, client = _setup(engine)
    _signed_in(engine, client, "customer", c.mid_customer, csrf="the-session-csrf")
    skip = f"{API}/subscriptions/{c.mid_customer_sub}/skip"
    refused = client.post(skip)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert client.post(skip, headers={"X-CSRF-Token": "a-guess"}).status_code == 403
    done = client.post(skip, headers={"X-CSRF-Token": "the-session-csrf"})
    assert done.status_code == 200 and done.json()["next_run"] == "2026-11-20"


def test_a_forged_cookie_is_unauthenticated(engine: Engine) -> None:
    _, client = _setup(engine)
    client.cookies.set(COOKIE, "not-a-signed-session")
    r = client.get(f"{API}/members")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
