"""Integration tokens: scopes enforced, revocation immediate, only a hash at rest, the CLI;
and the app: OpenAPI, docs, the secret key check; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.api.tokens import revoke_token
from patronage.cli.main import app as cli
from patronage.config import DEFAULT_SECRET, Settings
from patronage.db.accounts import AuditEntry
from patronage.db.api_tokens import ApiToken
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.server import create_app
from tests.integration.test_api_support import API, NOW, app_for, bearer, company, token_for


def test_token_without_the_scope_is_forbidden_and_told_which_scope(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    reader = bearer(token_for(engine, "members:read"))
    assert client.get(f"{API}/members/{c.top}", headers=reader).status_code == 200
    r = client.post(f"{API}/orders", headers=reader, json={
        "buyer_id": c.top_customer, "lines": [{"sku": "TEA"}]})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "'orders:write'" in r.json()["detail"]


def test_revoked_token_is_refused_at_once(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    token = token_for(engine, "members:read")
    auth = bearer(token)
    assert client.get(f"{API}/members/{c.top}", headers=auth).status_code == 200
    with transaction(engine) as s:
        token_id = s.scalar(select(ApiToken.id))
        assert token_id is not None
        revoke_token(s, token_id, now=NOW)
    r = client.get(f"{API}/members/{c.top}", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer pat_nothing_here", "Bearer garbage", "Basic abc"])
def test_unknown_or_malformed_credentials_are_unauthenticated(engine: Engine,
                                                               header: str) -> None:
    company(engine)
    r = app_for(engine).get(f"{API}/members", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["title"] == "Unauthenticated"


def test_a_token_with_a_changed_secret_is_refused(engine: Engine) -> None:
    company(engine)
    token = token_for(engine, "members:read")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert app_for(engine).get(f"{API}/members", headers=bearer(forged)).status_code == 401


def test_only_the_hash_of_a_token_is_stored_and_its_use_is_noted(engine: Engine) -> None:
    company(engine)
    token = token_for(engine, "members:read")
    app_for(engine).get(f"{API}/members", headers=bearer(token))
    with transaction(engine) as s:
        row = s.scalars(select(ApiToken)).one()
        stored = [str(getattr(row, col.name)) for col in ApiToken.__table__.columns]
        assert row.secret_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.last_used_at == NOW
    secret = token.split("_", 2)[2]  # the random part may itself contain "_"
    assert not any(token in value or secret in value for value in stored)


def test_cli_creates_lists_and_revokes_tokens_with_audit_entries(engine: Engine,
                                                                 db_url: str) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["--db", db_url, "api", "token", "create", "--name", "erp",
                               "--scope", "orders:write", "--scope", "members:read", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["scopes"] == ["members:read", "orders:write"]
    listed = json.loads(runner.invoke(cli, ["--db", db_url, "api", "token", "list",
                                            "--json"]).output)
    assert [t["name"] for t in listed] == ["erp"] and "token" not in listed[0]
    gone = runner.invoke(cli, ["--db", db_url, "api", "token", "revoke", str(created["id"])])
    assert gone.exit_code == 0 and "revoked" in gone.output
    assert app_for(engine).get(f"{API}/members",
                               headers=bearer(created["token"])).status_code == 401
    with transaction(engine) as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["api_token.create", "api_token.revoke"]


def test_cli_refuses_an_unknown_scope_by_name(db_url: str) -> None:
    from patronage.api.tokens import check_scopes

    with pytest.raises(PatronageError, match="orders:delete not known"):
        check_scopes(["orders:delete"])
    result = CliRunner().invoke(cli, ["--db", db_url, "api", "token", "create", "--name", "x",
                                      "--scope", "orders:delete"])
    assert result.exit_code != 0


def test_openapi_schema_and_docs_are_served(engine: Engine) -> None:
    client = app_for(engine)
    schema = client.get("/openapi.json").json()
    assert f"{API}/orders" in schema["paths"] and f"{API}/members/{{member_id}}" in schema["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_default_secret_is_refused_outside_demo_mode(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with pytest.raises(PatronageError, match="PATRONAGE_SECRET_KEY"):
        create_app(settings=Settings(database_url=url, secret_key=DEFAULT_SECRET), engine=engine,
                   migrate=False)
    create_app(settings=Settings(database_url=url, secret_key=DEFAULT_SECRET, demo_mode=True),
               engine=engine, migrate=False)


def test_unknown_api_path_is_a_problem_but_pages_keep_their_own_errors(engine: Engine) -> None:
    client = app_for(engine)
    r = client.get(f"{API}/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    page = client.get("/nothing-here-either")
    assert page.status_code == 404
    assert page.headers["content-type"] != "application/problem+json"


def test_serve_refuses_the_default_secret_and_serves_the_app_in_demo_mode(
        engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: served.append(
        (app, host, port)))
    monkeypatch.delenv("PATRONAGE_SECRET_KEY", raising=False)
    monkeypatch.delenv("PATRONAGE_DEMO_MODE", raising=False)
    refused = CliRunner().invoke(cli, ["--db", db_url, "serve", "--port", "8123"])
    assert refused.exit_code != 0 and "PATRONAGE_SECRET_KEY" in str(refused.exception)
    assert served == []
    demo = CliRunner().invoke(cli, ["--db", db_url, "serve", "--port", "8123", "--demo"])
    assert demo.exit_code == 0, demo.output
    (app, host, port), = served
    assert (host, port) == ("127.0.0.1", 8123)
    assert TestClient(app).get("/openapi.json").status_code == 200  # type: ignore[arg-type]
