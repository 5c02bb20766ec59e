"""`patronage serve --workers N`: several processes made from the environment, the schema
upgraded once before them, trusted proxies from --forwarded-allow-ips, graceful shutdown."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.server import from_env
from tests.e2e.world import SECRET


def test_serve_with_workers(monkeypatch: pytest.MonkeyPatch, db_url: str,
                            tmp_path: Any) -> None:
    import uvicorn

    for name in ("PATRONAGE_DATABASE_URL", "PATRONAGE_TRUSTED_PROXIES", "PATRONAGE_DEMO_MODE",
                 "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")  # restored (removed) after the test, whatever serve sets
        monkeypatch.delenv(name)
    monkeypatch.setenv("PATRONAGE_SECRET_KEY", SECRET)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.update(target=target, **kw))
    result = CliRunner().invoke(cli, ["--db", db_url, "serve", "--workers", "3",
                                      "--forwarded-allow-ips", "10.0.0.0/8",
                                      "--graceful-timeout", "20"])
    assert result.exit_code == 0, result.output
    assert seen["target"] == "patronage.server:from_env" and seen["factory"] is True
    assert seen["workers"] == 3 and seen["timeout_graceful_shutdown"] == 20
    assert seen["proxy_headers"] is False
    assert os.environ["PATRONAGE_TRUSTED_PROXIES"] == "10.0.0.0/8"
    assert os.environ["PATRONAGE_DATABASE_URL"] == db_url
    assert os.path.isdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    # What each process makes: the app over the same database, ready.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with TestClient(from_env()) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


def test_a_bad_proxy_list_is_refused(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("PATRONAGE_SECRET_KEY", SECRET)
    result = CliRunner().invoke(cli, ["--db", db_url, "serve", "--workers", "2",
                                      "--forwarded-allow-ips", "proxy.local"])
    assert result.exit_code != 0
    assert "PATRONAGE_TRUSTED_PROXIES" in str(result.exception)
