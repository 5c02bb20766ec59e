"""The ledger and the payout methods wired together: the method holds (no method, no tax id,
the cooling period) hold balances in batches and on the earnings page, and the export writes
each payment into its method's rail file, holding those no file can carry."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.db.payouts import PayoutBatch
from patronage.db.payouts import PayoutPayment as PaymentRow
from patronage.payouts.adjustments import add_adjustment
from patronage.payouts.batches import build_batch, export_batch, standing
from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.files import Originator
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.holds import open_holds
from patronage.payouts.ledger import balances_of
from patronage.payouts.methods import method_hold_source, set_method
from patronage.payouts.secrets import Vault
from patronage.payouts.statement import earnings_of
from patronage.payouts.tax_ids import set_tax_id
from tests.factories import distributor

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
KEY = Fernet.generate_key().decode()
VAULT = Vault(KEY)
RULES = PayoutRules.from_text("20.00", "100000.00", 15)
ORIGINATOR = Originator("Patronage Co", iban="DE89370400440532013000", bic="COBADEFFXXX",
                        ach_company_id="1123456789", ach_odfi_routing="021000021")
ACH = PayoutAccount("us_ach", "Ann Smith", routing_number="021000021",
                    account_number="123456789")


def _member(engine: Engine, name: str, country: str, account: PayoutAccount | None,
            *, set_days_ago: int = 60, tax: bool = True, amount: int = 100_00,
            currency: str = "USD") -> int:
    with transaction(engine) as s:
        member = distributor(s, name, country=country)
        if account is not None:
            set_method(s, member_id=member, account=account, actor="test", vault=VAULT,
                       now=NOW - timedelta(days=set_days_ago))
        if tax and country == "US":
            set_tax_id(s, member_id=member, country="US", kind="ssn", number="536-90-4399",
                       actor="test", vault=VAULT, now=NOW - timedelta(days=60))
        add_adjustment(s, member, amount, "other", "prize", now=NOW - timedelta(days=1),
                       actor="staff:ann", rules=RULES, currency=currency)
    return member


def test_method_holds_keep_balances_out_of_the_batch_and_say_why(engine: Engine) -> None:
    ok = _member(engine, "Ann", "US", ACH)
    bare = _member(engine, "Bo", "US", None)
    cooling = _member(engine, "Cy", "US", ACH, set_days_ago=3)
    untaxed = _member(engine, "Di", "US", ACH, tax=False)
    holds = [method_hold_source(14)]
    with engine.connect() as conn:
        owed = standing(conn, now=NOW, rules=RULES, holds=holds)["USD"]
        assert (owed.payable_members, owed.held_members) == (1, 3)
        # Without the sources (as a caller that forgets them would): everyone looks payable.
        assert standing(conn, now=NOW, rules=RULES)["USD"].payable_members == 4

    def reasons(member: int) -> list[tuple[str, str]]:
        view = earnings_of(engine, member, now=NOW, rules=RULES, company_zone="UTC",
                           extra_holds=holds)
        return [(h.code, h.detail) for h in view.holds]
    assert reasons(ok) == []
    assert reasons(bare) == [("no_method", "no payout method")]
    assert reasons(cooling) == [("method_cooling", "payout method changed on 2026-11-12: "
                                                   "held until 2026-11-26")]
    assert reasons(untaxed) == [("no_tax_id", "no valid tax id")]
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES,
                        holds=holds)
    assert batch.payments == 1
    with engine.connect() as conn:
        assert conn.scalars(select(PaymentRow.member_id)).all() == [ok]
        assert [balances_of(conn, m)["USD"] for m in (ok, bare, cooling, untaxed)] == [
            0, 100_00, 100_00, 100_00]
    # Once the cooling period is over, the next batch pays Cy.
    later = build_batch(engine, date(2026, 12, 15), now=NOW + timedelta(days=30),
                        actor="test", rules=RULES, holds=holds)
    assert later.payments == 1


def test_export_writes_each_payment_in_its_rails_file_and_holds_the_rest(
        engine: Engine, tmp_path: Path) -> None:
    ann = _member(engine, "Ann", "US", ACH)
    olivia = _member(engine, "Olivia", "GB",
                     PayoutAccount("iban", "Olivia Smith", iban="GB29 NWBK 6016 1331 9268 19"),
                     currency="GBP")
    wu = _member(engine, "Wu", "US", PayoutAccount("ewallet", "Wu Li", provider="PayCard",
                                                   wallet_id="wu@paycard"))
    cam = _member(engine, "Cam", "CA", PayoutAccount("ca_eft", "Cam Roy", institution="001",
                                                     transit="00011",
                                                     account_number="1234567"))
    euro = _member(engine, "Eve", "US", ACH, currency="EUR")  # ACH pays dollars only
    bare = _member(engine, "Bo", "US", None)
    # Built without the method holds, so payments without a usable method reach the export.
    batch = build_batch(engine, date(2026, 11, 15), now=NOW, actor="test", rules=RULES)
    assert batch.payments == 6
    done = export_batch(engine, batch.id, tmp_path, now=NOW, actor="staff:ann", kind=None,
                        vault=VAULT, originator=ORIGINATOR)
    stem = f"payouts-2026-11-15-batch{batch.id}"
    assert done.payments == {f"{stem}-ewallet_csv-USD.csv": 1, f"{stem}-nacha-USD.ach": 1,
                             f"{stem}-sepa-GBP.xml": 1}
    assert sorted(p.member_id for p in done.held) == sorted([cam, euro, bare])
    files = {p.name: p.read_bytes() for p in done.paths}
    assert b"123456789" in files[f"{stem}-nacha-USD.ach"]
    assert b"GB29NWBK60161331926819" in files[f"{stem}-sepa-GBP.xml"]
    assert b"wu@paycard" in files[f"{stem}-ewallet_csv-USD.csv"]
    with engine.connect() as conn:
        # Held, never dropped: their money is back on the balance, with a hold saying why.
        assert [balances_of(conn, m)[c] for m, c in ((cam, "USD"), (euro, "EUR"),
                                                       (bare, "USD"))] == [100_00] * 3
        assert balances_of(conn, ann)["USD"] == 0 and balances_of(conn, olivia)["GBP"] == 0
        assert balances_of(conn, wu)["USD"] == 0
    with transaction(engine) as s:
        held = {h.member_id: h.note for h in open_holds(s)}
        batch_row = s.get(PayoutBatch, batch.id)
        assert batch_row is not None and batch_row.status == "exported"
    assert sorted(held) == sorted([cam, euro, bare])
    assert all("no usable payout method at export" in note for note in held.values())
    # Again: the same files, nothing held twice; one kind: only that rail's file.
    again = export_batch(engine, batch.id, tmp_path, now=NOW + timedelta(hours=1),
                         actor="staff:ann", kind=None, vault=VAULT, originator=ORIGINATOR)
    assert {p.name: p.read_bytes() for p in again.paths} == files
    only = export_batch(engine, batch.id, tmp_path / "nacha", now=NOW, actor="staff:ann",
                        kind="nacha", vault=VAULT, originator=ORIGINATOR)
    assert [p.name for p in only.paths] == [f"{stem}-nacha-USD.ach"]
    plain = export_batch(engine, batch.id, tmp_path / "csv", now=NOW, actor="staff:ann")
    rows = plain.paths[0].read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 3  # the header and the three payments sent


def test_the_export_command_writes_the_rail_files(engine: Engine, db_url: str,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRONAGE_PAYOUT_KEYS", KEY)
    monkeypatch.setenv("PATRONAGE_PAYOUT_IBAN", ORIGINATOR.iban)
    monkeypatch.setenv("PATRONAGE_ACH_COMPANY_ID", ORIGINATOR.ach_company_id)
    monkeypatch.setenv("PATRONAGE_ACH_ODFI_ROUTING", ORIGINATOR.ach_odfi_routing)
    ann = _member(engine, "Ann", "US", ACH)
    bare = _member(engine, "Bo", "US", None)
    run = CliRunner().invoke
    when = ["--now", NOW.isoformat()]
    built = run(cli, ["--db", db_url, "payouts", "batch", "--date", "2026-11-15", "--json",
                      *when])
    assert built.exit_code == 0, built.output
    batch = json.loads(built.output)
    assert batch["payments"] == 1  # Bo, without a payout method, is held
    shown = run(cli, ["--db", db_url, "payouts", "balance", "--member", str(bare), *when])
    assert "held: no_method: no payout method" in shown.output
    out = tmp_path / "files"
    done = run(cli, ["--db", db_url, "payouts", "export", "--batch", str(batch["id"]),
                     "--kind", "nacha", "--out", str(out), *when])
    assert done.exit_code == 0, done.output
    written = sorted(p.name for p in out.iterdir())
    assert written == [f"payouts-2026-11-15-batch{batch['id']}-nacha-USD.ach"]
    assert (out / written[0]).read_bytes().startswith(b"101 ")
    assert str(ann) not in {p.name for p in out.iterdir()}
