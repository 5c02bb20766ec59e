"""Sign-in limits beyond one email from one address: spraying many emails from one address,
guessing spread over many places (the global budget), and X-Forwarded-For believed only from the
configured proxies; fixed clocks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage import audit
from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.accounts import LoginAttempt
from patronage.db.engine import transaction
from patronage.errors import PatronageError
from patronage.server import create_app
from patronage.web.accounts import GLOBAL_FAILURES, MAX_ADDRESS_FAILURES, WINDOW
from tests.e2e.world import EMAILS, NOW, SECRET, seed, settings, sign_in

pytestmark = pytest.mark.storage


def _client(engine: Engine, clock: FixedClock, address: str = "203.0.113.9",
            **settings_changes: Any) -> TestClient:
    app = create_app(settings=settings().model_copy(update=settings_changes), engine=engine,
                     clock=clock, migrate=False)
    return TestClient(app, client=(address, 50000))


def _ips(engine: Engine) -> list[str]:
    with transaction(engine) as s:
        return sorted({r.ip or "" for r in audit.recent(s, action="login.failed")})


def test_spraying_many_emails_from_one_address_is_stopped(engine: Engine) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    sprayer = _client(engine, clock)
    answers = [sign_in(sprayer, f"person{i}@example.com", "Summer2026!").status_code
               for i in range(40)]
    assert answers == [401] * MAX_ADDRESS_FAILURES + [429] * (40 - MAX_ADDRESS_FAILURES)
    blocked = sign_in(sprayer, EMAILS["staff"])  # even a right password, from that address
    assert blocked.status_code == 429 and "from your address" in blocked.text
    assert sign_in(_client(engine, clock, "198.51.100.20"), EMAILS["staff"]).status_code == 303
    clock.advance(WINDOW + timedelta(seconds=1))
    assert sign_in(_client(engine, clock), EMAILS["staff"]).status_code == 303


def test_past_the_global_budget_only_emails_and_addresses_without_failures_get_in(
        engine: Engine) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    with transaction(engine) as s:  # failures spread over many places, a minute ago
        s.add_all(LoginAttempt(email=f"victim{i}@example.com", ip=f"10.9.{i // 250}.{i % 250}",
                               at=NOW - timedelta(minutes=1)) for i in range(GLOBAL_FAILURES))
    assert sign_in(_client(engine, clock, "198.51.100.1"), EMAILS["customer"],
                   "guess").status_code == 401  # one failure for Cory
    elsewhere = sign_in(_client(engine, clock, "198.51.100.2"), EMAILS["customer"])
    assert elsewhere.status_code == 429 and "many places" in elsewhere.text
    assert sign_in(_client(engine, clock, "198.51.100.1"), EMAILS["staff"]
                   ).status_code == 429  # the address that failed
    assert sign_in(_client(engine, clock, "198.51.100.3"), EMAILS["staff"]).status_code == 303
    clock.advance(WINDOW)
    assert sign_in(_client(engine, clock, "198.51.100.2"), EMAILS["customer"]
                   ).status_code == 303
    with transaction(engine) as s:  # everyone's old failures are forgotten
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(engine: Engine) -> None:
    seed(engine)
    clock = FixedClock(NOW)
    spoofing = _client(engine, clock, "127.0.0.1")
    spoofing.headers["X-Forwarded-For"] = "192.0.2.77"
    assert sign_in(spoofing, EMAILS["customer"], "guess").status_code == 401
    assert _ips(engine) == ["127.0.0.1"]
    proxied = _client(engine, clock, "10.0.0.5", trusted_proxies="10.0.0.0/24, ::1")
    proxied.headers["X-Forwarded-For"] = "192.0.2.99, 192.0.2.50, 10.0.0.4"
    assert sign_in(proxied, EMAILS["customer"], "guess").status_code == 401
    assert _ips(engine) == ["127.0.0.1", "192.0.2.50"]  # the nearest untrusted hop


def test_a_malformed_trusted_proxies_setting_is_refused_at_start(engine: Engine) -> None:
    bad = Settings(secret_key=SECRET, trusted_proxies="10.0.0.1, proxy.local")
    with pytest.raises(PatronageError, match=r"PATRONAGE_TRUSTED_PROXIES: 'proxy\.local'"):
        create_app(settings=bad, engine=engine, migrate=False)


def test_serve_leaves_forwarded_headers_to_the_app(monkeypatch: pytest.MonkeyPatch,
                                                    db_url: str) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from patronage.cli.main import app as cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    result = CliRunner().invoke(cli, ["--db", db_url, "serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False
