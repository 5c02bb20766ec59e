"""Security headers: HSTS when served over https (or told so by a trusted proxy), and no caching
of signed-in pages, personal links or API answers; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage.clock import FixedClock
from patronage.server import create_app
from tests.e2e.world import EMAILS, NOW, World, seed, settings, sign_in
from tests.integration.test_api_support import bearer, token_for

pytestmark = pytest.mark.storage

HSTS = "strict-transport-security"


def _client(engine: Engine, *, base_url: str = "http://testserver",
            address: str = "203.0.113.9", **changes: Any) -> TestClient:
    app = create_app(settings=settings().model_copy(update=changes), engine=engine,
                     clock=FixedClock(NOW), migrate=False)
    return TestClient(app, base_url=base_url, client=(address, 50000))


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_hsts_only_over_https(engine: Engine, world: World) -> None:
    assert HSTS not in _client(engine).get("/login").headers
    secure = _client(engine, base_url="https://testserver")
    for path in ("/login", "/api/v1/members", "/static/style.css"):
        assert secure.get(path).headers[HSTS] == "max-age=31536000; includeSubDomains"


def test_forwarded_proto_counts_only_from_a_trusted_proxy(engine: Engine, world: World) -> None:
    https = {"X-Forwarded-Proto": "https"}
    assert HSTS not in _client(engine, address="127.0.0.1").get("/login", headers=https).headers
    proxied = _client(engine, address="10.0.0.5", trusted_proxies="10.0.0.0/8")
    assert HSTS in proxied.get("/login", headers=https).headers
    assert HSTS not in proxied.get("/login").headers


def test_signed_in_pages_and_personal_links_are_not_stored(engine: Engine, world: World) -> None:
    client = _client(engine)
    assert "no-store" not in client.get("/login").headers.get("cache-control", "")
    assert "no-store" not in client.get("/static/style.css").headers.get("cache-control", "")
    sign_in(client, EMAILS["distributor"])
    for path in ("/today", "/customers", "/account"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    link = _client(engine).get(f"/p/{world.token('preferences')}")
    assert link.status_code == 200 and link.headers["cache-control"] == "no-store"


def test_api_answers_are_not_stored(engine: Engine, world: World) -> None:
    client = _client(engine)
    token = token_for(engine, "members:read")
    answer = client.get(f"/api/v1/members/{world.cory}", headers=bearer(token))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    refused = client.get("/api/v1/members")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
