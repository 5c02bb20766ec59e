"""``patronage payout-methods`` and ``patronage tax`` from the command line."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.db.payout_methods import PayoutMethod
from patronage.payouts.adjustments import add_adjustment
from patronage.payouts.batches import build_batch
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.secrets import Vault
from patronage.web.accounts import create_account
from tests.factories import distributor

NOW = "2026-11-02T10:00:00+00:00"


def test_set_show_reveal_and_year_end(engine: Engine, db_url: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("PATRONAGE_PAYOUT_KEYS", key)
    monkeypatch.setenv("PATRONAGE_SMTP_PORT", "9")  # nothing listens: the email waits
    with transaction(engine) as s:
        dana = distributor(s, "Dana", country="US", email="dana@example.com", ref="D-DANA")
        create_account(s, email="ann@co.example", password="Correct-horse-battery-42",
                       role="staff", member_id=None, now=datetime(2026, 1, 1, tzinfo=UTC))
    run = CliRunner().invoke
    bad = run(cli, ["--db", db_url, "payout-methods", "set", str(dana), "--kind", "us_ach",
                    "--holder", "Dana", "--routing", "021000022", "--account", "123456789",
                    "--now", NOW])
    assert bad.exit_code != 0
    assert "routing_number: the routing number's check digit is wrong" in str(
        bad.exception)
    ok = run(cli, ["--db", db_url, "payout-methods", "set", str(dana), "--kind", "us_ach",
                   "--holder", "Dana", "--routing", "021000021", "--account", "123456789",
                   "--now", NOW])
    assert ok.exit_code == 0, ok.output
    assert "paid into US bank account •••• 6789; payouts held for 14 days" in ok.output
    taxed = run(cli, ["--db", db_url, "tax", "set", str(dana), "--country", "US", "--kind",
                      "ssn", "--number", "536-90-4399", "--now", NOW])
    assert taxed.exit_code == 0, taxed.output
    shown = json.loads(run(cli, ["--db", db_url, "payout-methods", "show", str(dana), "--json",
                                 "--now", NOW]).output)
    assert shown == {"member_id": dana, "payout_method": "US bank account •••• 6789",
                     "held_until": "2026-11-16T10:00:00+00:00", "tax_id": "US ssn •••• 4399",
                     "holds": [{"code": "method_cooling",
                                "words": "payout method changed on 2026-11-02: held until "
                                         "2026-11-16"}]}
    refused = run(cli, ["--db", db_url, "tax", "reveal", str(dana), "--as", "ann@co.example",
                        "--reason", "1099 filing"])
    assert refused.exit_code != 0 and "may not read tax ids in full" in str(refused.exception)
    assert run(cli, ["--db", db_url, "tax", "readers", "grant", "ann@co.example"]).exit_code == 0
    revealed = run(cli, ["--db", db_url, "tax", "reveal", str(dana), "--as", "ann@co.example",
                         "--reason", "1099 filing"])
    assert revealed.output.strip() == "US ssn 536-90-4399"
    # A new key first, the old one after it: rotate, then the old key can go.
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("PATRONAGE_PAYOUT_KEYS", f"{new},{key}")
    rotated = run(cli, ["--db", db_url, "payout-methods", "rotate-key"])
    assert "2 records re-encrypted" in rotated.output
    with engine.connect() as conn:
        sealed = conn.execute(select(PayoutMethod.sealed)).scalar_one()
    assert Vault(new).open(dana, sealed)["account_number"] == "123456789"

    # A payment on the real ledger: an adjustment paid by the batch of 1 July.
    rules = PayoutRules.from_text("20.00", "100000.00", 15)
    paid_at = datetime(2026, 7, 1, tzinfo=UTC)
    with transaction(engine) as s:
        add_adjustment(s, dana, 2500_00, "other", "prize", now=paid_at, actor="staff:ann",
                       rules=rules, currency="USD")
    build_batch(engine, paid_at.date(), now=paid_at, actor="staff:ann", rules=rules)
    out, missing = tmp_path / "nec.csv", tmp_path / "missing.csv"
    done = run(cli, ["--db", db_url, "tax", "1099-nec", "2026", "--out", str(out),
                     "--missing", str(missing)])
    assert "1 forms at or above 2000.00 USD" in done.output, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["account_id"], r["nonemployee_comp"]) for r in rows] == [("D-DANA", "2500.00")]
    assert len(missing.read_text().splitlines()) == 1
