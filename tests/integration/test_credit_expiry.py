"""The daily credit expiry: ``expire_credit`` and ``patronage credit expire``."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.compensation.runs import commit_period
from patronage.credit.expiry import expire_credit
from patronage.credit.ledger import balance
from patronage.db.credit import CreditEntry
from patronage.db.engine import transaction
from tests.integration.test_credit import OCT, _at, _company, _plan

pytestmark = pytest.mark.storage


def test_the_command_expires_unspent_credit_once_a_day(engine: Engine, db_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ria = _company(engine)["ria"]
    commit_period(engine, OCT, _plan(), now=_at(date(2026, 11, 1)), actor="test")
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 6000
    # Within the company's days nothing expires.
    assert expire_credit(engine, _at(date(2026, 11, 20)), 30) == 0
    monkeypatch.setenv("PATRONAGE_CREDIT_EXPIRY_DAYS", "30")
    run = CliRunner().invoke
    args = ["--db", db_url, "credit", "expire", "--json", "--now"]
    early = run(cli, [*args, _at(date(2026, 11, 20)).isoformat()])
    assert early.exit_code == 0, early.output
    assert json.loads(early.output) == {"expired": 0, "days": 30}
    done = run(cli, [*args, _at(date(2026, 12, 10)).isoformat()])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"expired": 6000, "days": 30}
    again = run(cli, [*args, _at(date(2026, 12, 10)).isoformat()])  # the same day again
    assert json.loads(again.output)["expired"] == 0
    with transaction(engine) as s:
        assert balance(s, ria, "USD") == 0
        assert s.scalar(select(func.count()).select_from(CreditEntry)
                        .where(CreditEntry.kind == "expired")) == 1
    bad = run(cli, ["--db", db_url, "credit", "expire", "--days", "0"])
    assert bad.exit_code != 0 and "days must be at least 1" in str(bad.exception)
