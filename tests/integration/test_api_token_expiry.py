"""Integration tokens expire (90 days unless chosen otherwise), note their last use at most once
a minute, and can be rotated (the old one ending at once or after a short grace); fixed clocks,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from patronage.api.tokens import (
    DEFAULT_LIFETIME,
    MAX_GRACE,
    MAX_LIFETIME,
    create_token,
    rotate_token,
)
from patronage.cli.main import app as cli
from patronage.clock import FixedClock
from patronage.db.api_tokens import ApiToken
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from tests.integration.test_api_support import API, NOW, app_for, bearer, company, token_for
from tests.integration.test_migrations import _migrator

pytestmark = pytest.mark.storage


def _row(engine: Engine, token_id: int | None = None) -> ApiToken:
    with transaction(engine) as s:
        query = select(ApiToken).order_by(ApiToken.id)
        row = s.scalars(query).first() if token_id is None else s.get(ApiToken, token_id)
        assert row is not None
        s.expunge(row)
        return row


def test_a_token_expires_after_90_days_by_default_and_says_so(engine: Engine) -> None:
    company(engine)
    token = token_for(engine, "members:read")
    assert _row(engine).expires_at == NOW + DEFAULT_LIFETIME
    clock = FixedClock(NOW + DEFAULT_LIFETIME - timedelta(seconds=1))
    assert app_for(engine, clock).get(f"{API}/members", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    r = app_for(engine, clock).get(f"{API}/members", headers=bearer(token))
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert "expired on 2027-01-13 12:00 UTC" in r.json()["detail"]


def test_the_lifetime_is_chosen_at_creation_within_limits(engine: Engine) -> None:
    with transaction(engine) as s:
        view, _ = create_token(s, name="erp", scopes=["members:read"], now=NOW,
                               created_by="test", expires_in=timedelta(days=7))
        assert view.expires_at == NOW + timedelta(days=7)
        for wrong in (timedelta(0), MAX_LIFETIME + timedelta(days=1)):
            with pytest.raises(PatronageError, match=r"^expiry: between 1 and 365 days"):
                create_token(s, name="erp", scopes=["members:read"], now=NOW,
                             created_by="test", expires_in=wrong)


def test_last_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    company(engine)
    token = token_for(engine, "members:read")
    clock = FixedClock(NOW)
    client = app_for(engine, clock)
    assert client.get(f"{API}/members", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=59))
    assert client.get(f"{API}/members", headers=bearer(token)).status_code == 200
    assert _row(engine).last_used_at == NOW
    clock.advance(timedelta(seconds=2))
    assert client.get(f"{API}/members", headers=bearer(token)).status_code == 200
    assert _row(engine).last_used_at == NOW + timedelta(seconds=61)


def test_rotation_replaces_a_token_at_once(engine: Engine) -> None:
    company(engine)
    old = token_for(engine, "members:read", "orders:write")
    old_id = _row(engine).id
    with transaction(engine) as s:
        view, new = rotate_token(s, old_id, now=NOW, created_by="test")
    assert view.scopes == ("members:read", "orders:write") and view.name == "shop"
    assert view.replaces_id == old_id and view.expires_at == NOW + DEFAULT_LIFETIME
    client = app_for(engine)
    r = client.get(f"{API}/members", headers=bearer(old))
    assert r.status_code == 401 and "was revoked" in r.json()["detail"]
    assert client.get(f"{API}/members", headers=bearer(new)).status_code == 200


def test_rotation_with_a_grace_keeps_the_old_token_for_a_while(engine: Engine) -> None:
    company(engine)
    old = token_for(engine, "members:read")
    old_id = _row(engine).id
    with transaction(engine) as s:
        with pytest.raises(PatronageError, match=r"^grace: at most 24 hours"):
            rotate_token(s, old_id, now=NOW, created_by="test", grace=MAX_GRACE + timedelta(1))
        rotate_token(s, old_id, now=NOW, created_by="test", grace=timedelta(hours=1))
    clock = FixedClock(NOW + timedelta(minutes=59))
    assert app_for(engine, clock).get(f"{API}/members", headers=bearer(old)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert app_for(engine, clock).get(f"{API}/members", headers=bearer(old)).status_code == 401
    with transaction(engine) as s, pytest.raises(PatronageError, match="already replaced"):
        rotate_token(s, old_id, now=NOW, created_by="test")


def test_cli_sets_expiry_lists_it_and_rotates(engine: Engine, db_url: str) -> None:
    company(engine)
    runner = CliRunner()
    made = runner.invoke(cli, ["--db", db_url, "api", "token", "create", "--name", "erp",
                               "--scope", "members:read", "--expires-days", "30", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    listed = json.loads(runner.invoke(cli, ["--db", db_url, "api", "token", "list",
                                            "--json"]).output)
    made_at = datetime.fromisoformat(listed[0]["created_at"])
    assert datetime.fromisoformat(listed[0]["expires_at"]) - made_at == timedelta(days=30)
    rotated = runner.invoke(cli, ["--db", db_url, "api", "token", "rotate", str(created["id"]),
                                  "--grace-minutes", "10", "--json"])
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.output)
    assert new["replaces_id"] == created["id"] and new["token"] != created["token"]
    wall = FixedClock(datetime.now(UTC))
    assert app_for(engine, wall).get(f"{API}/members",
                                     headers=bearer(new["token"])).status_code == 200
    assert app_for(engine, wall).get(f"{API}/members",
                                     headers=bearer(created["token"])).status_code == 200
    wall.advance(timedelta(minutes=11))
    assert app_for(engine, wall).get(f"{API}/members",
                                     headers=bearer(created["token"])).status_code == 401
    bad = runner.invoke(cli, ["--db", db_url, "api", "token", "create", "--name", "x",
                              "--scope", "members:read", "--expires-days", "400"])
    assert bad.exit_code == 1


def test_tokens_made_before_expiry_existed_get_90_days_from_the_upgrade(engine: Engine) -> None:
    migrate = _migrator(engine)
    migrate(command.downgrade, "0002_api")
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO api_tokens (name, prefix, secret_hash, scopes, created_at, "
                "created_by) VALUES ('old', 'abc', 'x', 'members:read', :at, 'cli')"),
                {"at": datetime(2025, 1, 1) if engine.dialect.name == "sqlite"
                 else datetime(2025, 1, 1, tzinfo=UTC)})
        before = datetime.now(UTC)
        migrate(command.upgrade, "heads")
    finally:
        migrate(command.upgrade, "heads")
    expires = _row(engine).expires_at
    assert before + DEFAULT_LIFETIME <= expires <= datetime.now(UTC) + DEFAULT_LIFETIME
