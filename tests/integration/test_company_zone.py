"""The company's time zone is a setting the composition roots read and pass on: a company in
UTC closes October at midnight UTC, one in Chicago (the default) five hours later. Through the
service, the CLI (read from ``PATRONAGE_COMPANY_TIMEZONE`` at each command) and the REST API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.cli.main import app
from patronage.clock import FixedClock
from patronage.compensation.runs import commit_period
from patronage.config import Settings
from patronage.errors import Conflict
from patronage.server import create_app
from tests.integration.test_api_support import API, acting_as, company
from tests.integration.test_commission_periods import _company, _runs
from tests.integration.test_commission_runs import OCT, PLAN

# October 2026 has ended in UTC, not yet in Chicago (it is 2026-10-31 20:00 there).
AFTER_UTC_MIDNIGHT = datetime(2026, 11, 1, 1, tzinfo=UTC)


def test_the_service_closes_the_month_in_the_zone_it_is_given(engine: Engine) -> None:
    _company(engine)
    with pytest.raises(Conflict, match="America/Chicago"):
        commit_period(engine, OCT, PLAN, now=AFTER_UTC_MIDNIGHT, actor="test")
    commit_period(engine, OCT, PLAN, now=AFTER_UTC_MIDNIGHT, actor="test", company_zone="UTC")
    assert _runs(engine) == ["2026-10"]


def test_each_command_reads_the_company_zone_setting(
        engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _company(engine)
    args = ["--db", db_url, "commissions", "commit", "--period", "2026-10",
            "--now", AFTER_UTC_MIDNIGHT.isoformat()]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0
    assert "has not ended yet" in str(refused.exception)
    assert "America/Chicago" in str(refused.exception)
    monkeypatch.setenv("PATRONAGE_COMPANY_TIMEZONE", "UTC")
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert _runs(engine) == ["2026-10"]


def test_the_api_uses_the_zone_of_the_settings_it_was_made_with(engine: Engine) -> None:
    c = company(engine)  # orders on 2026-10-15

    def client(zone: str) -> TestClient:
        settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                            secret_key="a-test-secret-that-is-long-enough",
                            company_timezone=zone)
        return TestClient(create_app(settings=settings, engine=engine,
                                     clock=FixedClock(AFTER_UTC_MIDNIGHT), migrate=False),
                          raise_server_exceptions=False)

    chicago = acting_as(client("America/Chicago"), c.staff())
    r = chicago.post(f"{API}/commissions/2026-10/commit")
    assert r.status_code == 409 and "America/Chicago" in r.json()["detail"]
    utc = acting_as(client("UTC"), c.staff())
    assert utc.post(f"{API}/commissions/2026-10/commit").status_code == 200
    assert _runs(engine) == ["2026-10"]
