"""Payout methods and tax ids in the store: encrypted, masked, changes emailed and held, tax ids
read in full only by readers (audited), and the year-end 1099-NEC from the ledger's payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select, text

from patronage import audit
from patronage.access import Forbidden
from patronage.care.channels.email import SendFailed
from patronage.db.engine import transaction
from patronage.db.payout_methods import PayoutMethod, PayoutMethodChange, TaxIdRecord
from patronage.db.payouts import LedgerEntry
from patronage.db.payouts import PayoutPayment as PaymentRow
from patronage.errors import PatronageError, Problems
from patronage.payouts.adjustments import add_adjustment
from patronage.payouts.batches import build_batch, return_payment
from patronage.payouts.core.accounts import PayoutAccount
from patronage.payouts.core.ledger import PayoutRules
from patronage.payouts.core.tax_forms import parse_thresholds
from patronage.payouts.methods import (
    accounts_for,
    method_holds,
    method_view,
    send_notices,
    set_method,
)
from patronage.payouts.secrets import Vault
from patronage.payouts.tax_ids import grant_reader, reveal_tax_id, set_tax_id, tax_id_view
from patronage.payouts.tax_year import form_1099_nec, paid_in_year
from patronage.web.accounts import create_account
from tests.factories import customer, distributor

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
VAULT = Vault(Fernet.generate_key().decode())
US_BANK = PayoutAccount("us_ach", "Dana Smith", routing_number="021000021",
                        account_number="123456789")
GB_BANK = PayoutAccount("iban", "Dana Smith", iban="GB29 NWBK 6016 1331 9268 19")


class Outbox:
    def __init__(self, fail: SendFailed | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def send(self, msg: EmailMessage) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(msg)


def _dana(engine: Engine, **kw: object) -> int:
    with transaction(engine) as s:
        return distributor(s, "Dana", email="dana@example.com", **kw)


def test_method_is_stored_encrypted_and_shown_masked(engine: Engine) -> None:
    dana = _dana(engine)
    with transaction(engine) as s:
        change = set_method(s, member_id=dana, account=US_BANK, actor="staff:ann", vault=VAULT,
                            now=NOW)
        assert change is not None and change.previous is None
    with engine.connect() as conn:
        sealed, label = conn.execute(select(PayoutMethod.sealed, PayoutMethod.label)).one()
        assert "123456789" not in sealed and "021000021" not in sealed
        assert label == "US bank account •••• 6789"
        assert accounts_for(conn, [dana, 999], vault=VAULT) == {dana: US_BANK}
    with transaction(engine) as s:
        view = method_view(s, dana, cooling_days=14, now=NOW)
        assert view is not None and view.label == "US bank account •••• 6789"
        assert view.held_until == NOW + timedelta(days=14)
        assert audit.recent(s, action="payout_method.set")[0].detail == (
            "(none) -> US bank account •••• 6789")


def test_same_details_again_change_nothing_and_a_change_is_emailed_once(engine: Engine) -> None:
    dana = _dana(engine)
    with transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="distributor", vault=VAULT, now=NOW)
    with transaction(engine) as s:
        assert set_method(s, member_id=dana, account=US_BANK, actor="distributor",
                          vault=VAULT, now=NOW + timedelta(days=1)) is None
        change = set_method(s, member_id=dana, account=GB_BANK, actor="distributor",
                            vault=VAULT, now=NOW + timedelta(days=30))
        assert change is not None
        assert (change.previous, change.current) == ("US bank account •••• 6789",
                                                     "bank account (IBAN) •••• 6819")
    outbox = Outbox()
    with transaction(engine) as s:
        assert send_notices(s, outbox, company="Demo Co", mail_from="care@demo.example",
                            cooling_days=14, now=NOW + timedelta(days=30)) == (2, 0)
    with transaction(engine) as s:  # sending again sends nothing
        assert send_notices(s, outbox, company="Demo Co", mail_from="care@demo.example",
                            cooling_days=14, now=NOW + timedelta(days=30)) == (0, 0)
    assert len(outbox.sent) == 2
    last = outbox.sent[1]
    assert last["To"] == "Dana <dana@example.com>"
    assert last["Subject"] == "Your payout method was changed"
    body = last.get_content()
    assert "bank account (IBAN) •••• 6819" in body and "US bank account •••• 6789" in body
    assert "held until December 16, 2026" in body
    assert "123456789" not in body
    assert last["Message-ID"].startswith("<payout-method-change-")


def test_a_failed_email_stays_queued_unless_lasting(engine: Engine) -> None:
    dana = _dana(engine)
    with transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="distributor", vault=VAULT, now=NOW)
    with transaction(engine) as s:
        assert send_notices(s, Outbox(SendFailed("server down", lasting=False)),
                            company="Co", mail_from="a@b.c", cooling_days=14, now=NOW) == (0, 0)
    with transaction(engine) as s:
        assert s.scalar(select(PayoutMethodChange.notice)) == "pending"
        assert send_notices(s, Outbox(SendFailed("no such user", lasting=True)),
                            company="Co", mail_from="a@b.c", cooling_days=14, now=NOW) == (0, 1)
    with transaction(engine) as s:
        row = s.scalars(select(PayoutMethodChange)).one()
        assert (row.notice, row.notice_detail) == ("failed", "no such user")


def test_spanish_speaker_gets_the_email_in_spanish(engine: Engine) -> None:
    dana = _dana(engine, locale="es-MX")
    with transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="distributor", vault=VAULT, now=NOW)
    outbox = Outbox()
    with transaction(engine) as s:
        send_notices(s, outbox, company="Co", mail_from="a@b.c", cooling_days=14, now=NOW)
    assert outbox.sent[0]["Subject"] == "Cambiaron tu método de pago"


def test_bad_details_and_non_distributors_are_refused_and_nothing_is_written(
        engine: Engine) -> None:
    dana = _dana(engine)
    with transaction(engine) as s:
        cory = customer(s, dana)
    with pytest.raises(Problems) as exc, transaction(engine) as s:
        set_method(s, member_id=dana, account=PayoutAccount(
            "us_ach", "Dana", routing_number="021000022", account_number="123456789"),
            actor="x", vault=VAULT, now=NOW)
    assert [p.place for p in exc.value.problems] == ["routing_number"]
    with pytest.raises(PatronageError, match="is not a distributor"), transaction(engine) as s:
        set_method(s, member_id=cory, account=US_BANK, actor="x", vault=VAULT, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM payout_methods")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM payout_method_changes")).scalar() == 0


def test_holds_no_method_no_tax_id_and_cooling(engine: Engine) -> None:
    with transaction(engine) as s:
        us_new = distributor(s, "Uma", country="US")
        us_ok = distributor(s, "Ula", country="US")
        us_bare = distributor(s, "Una", country="US")
        jp = distributor(s, "Jun", country="JP")  # Japan's tax ids are not collected
        nowhere = distributor(s, "Noa")  # no address, no market: the default market (US)
        set_method(s, member_id=us_new, account=US_BANK, actor="x", vault=VAULT, now=NOW)
        set_method(s, member_id=us_ok, account=US_BANK, actor="x", vault=VAULT,
                   now=NOW - timedelta(days=20))
        set_tax_id(s, member_id=us_ok, country="US", kind="ssn", number="536-90-4399",
                   actor="x", vault=VAULT, now=NOW)
        set_method(s, member_id=jp, account=GB_BANK, actor="x", vault=VAULT,
                   now=NOW - timedelta(days=20))
    with engine.connect() as conn:
        holds = method_holds(conn, [us_new, us_ok, us_bare, jp, nowhere], NOW,
                             cooling_days=14)
    assert {m: [(h.code, h.detail) for h in hs] for m, hs in holds.items()} == {
        us_new: [("method_cooling", "payout method changed on 2026-11-02: held until "
                                    "2026-11-16"), ("no_tax_id", "no valid tax id")],
        us_bare: [("no_method", "no payout method"), ("no_tax_id", "no valid tax id")],
        nowhere: [("no_method", "no payout method"), ("no_tax_id", "no valid tax id")],
    }
    with engine.connect() as conn:
        later = method_holds(conn, [us_new], NOW + timedelta(days=14), cooling_days=14)
    assert [h.code for h in later[us_new]] == ["no_tax_id"]


def test_tax_id_masked_for_all_and_full_only_for_readers_audited(engine: Engine) -> None:
    dana = _dana(engine, country="US")
    with transaction(engine) as s:
        for email in ("ann@co.example", "bob@co.example"):
            create_account(s, email=email, password="Correct-horse-battery-42", role="staff",
                           member_id=None, now=NOW)
        grant_reader(s, email="ann@co.example", actor="staff:root", now=NOW)
        view = set_tax_id(s, member_id=dana, country="US", kind="ssn", number="536 90 4399",
                          actor="distributor", vault=VAULT, now=NOW)
        assert view.masked == "•••• 4399"
    with engine.connect() as conn:
        sealed, last_four = conn.execute(select(TaxIdRecord.sealed, TaxIdRecord.last_four)).one()
    assert "536904399" not in sealed and last_four == "4399"
    with transaction(engine) as s:
        shown = tax_id_view(s, dana)
        assert shown is not None and (shown.country, shown.kind, shown.masked) == (
            "US", "ssn", "•••• 4399")
        assert "536" not in audit.recent(s, action="tax_id.set")[0].detail
    with pytest.raises(Forbidden, match="may not read tax ids"), transaction(engine) as s:
        reveal_tax_id(s, member_id=dana, viewer_email="bob@co.example", reason="curious",
                      vault=VAULT, now=NOW)
    with pytest.raises(PatronageError, match="say why"), transaction(engine) as s:
        reveal_tax_id(s, member_id=dana, viewer_email="ann@co.example", reason=" ",
                      vault=VAULT, now=NOW)
    with transaction(engine) as s:
        full = reveal_tax_id(s, member_id=dana, viewer_email="ann@co.example",
                             reason="filing 1099-NEC 2026", vault=VAULT, now=NOW)
        assert full.formatted == "536-90-4399"
    with transaction(engine) as s:
        [entry] = audit.recent(s, action="tax_id.viewed")
        assert (entry.actor, entry.target, entry.detail) == (
            "staff:ann@co.example", f"member {dana}", "filing 1099-NEC 2026")


def test_invalid_tax_id_is_refused_with_the_reason(engine: Engine) -> None:
    dana = _dana(engine)
    with pytest.raises(Problems, match="a part of it is never issued"), transaction(engine) as s:
        set_tax_id(s, member_id=dana, country="US", kind="ssn", number="078-05-1120",
                   actor="x", vault=VAULT, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM tax_ids")).scalar() == 0


TAX_RULES = PayoutRules.from_text("20.00", "100000.00", 15)


def _adjust(engine: Engine, amounts: dict[int, tuple[int, str]], when: datetime) -> None:
    with transaction(engine) as s:
        for member, (amount, currency) in amounts.items():
            add_adjustment(s, member, amount, "other", "paid as income", now=when,
                           actor="staff:ann", rules=TAX_RULES, currency=currency)


def _pay(engine: Engine, when: datetime) -> None:
    """The batch of ``when``'s date, posting its ``paid`` movements on the real ledger."""
    build_batch(engine, when.date(), now=when, actor="staff:ann", rules=TAX_RULES)


def test_year_end_1099_nec_from_the_ledger(engine: Engine) -> None:
    with transaction(engine) as s:
        ann = distributor(s, "Ann", country="US", ref="D-ANN")
        bo = distributor(s, "Bo", country="US")
        cy = distributor(s, "Cy", country="GB")
        di = distributor(s, "Di", country="US")
        set_tax_id(s, member_id=ann, country="US", kind="ssn", number="536-90-4399",
                   actor="x", vault=VAULT, now=NOW)

    def at(y: int, m: int, d: int, h: int = 12) -> datetime:
        return datetime(y, m, d, h, tzinfo=UTC)
    _adjust(engine, {ann: (999_00, "USD")}, at(2025, 12, 30))
    _pay(engine, at(2025, 12, 31))  # last year
    _adjust(engine, {ann: (1500_00, "USD"), bo: (2100_00, "USD"), cy: (9000_00, "USD"),
                     di: (1999_99, "USD")}, at(2026, 2, 20))
    _adjust(engine, {di: (30_00, "EUR")}, at(2026, 2, 20))  # not in dollars
    _pay(engine, at(2026, 3, 1))
    _adjust(engine, {bo: (400_00, "USD")}, at(2026, 6, 1))
    _pay(engine, at(2026, 6, 2))
    with transaction(engine) as s:  # came back: Bo's net stays 2,100.00
        ref = s.scalars(select(PaymentRow.payment_ref).where(PaymentRow.member_id == bo)
                        .order_by(PaymentRow.id.desc())).first()
        assert ref is not None
        return_payment(s, ref, "R01 insufficient funds", now=at(2026, 6, 9), actor="bank")
    _adjust(engine, {ann: (600_00, "USD")}, at(2026, 12, 30))  # a prize paid as income
    _pay(engine, at(2026, 12, 31, 23))
    _adjust(engine, {di: (50_000_00, "USD")}, at(2026, 12, 31, 23))  # owed, not paid
    with engine.connect() as conn:
        kinds = {k for k, in conn.execute(select(LedgerEntry.kind).distinct())}
        assert kinds == {"adjusted", "paid", "returned"}
        assert paid_in_year(conn, 2026) == {ann: 2100_00, bo: 2100_00, cy: 9000_00,
                                            di: 1999_99}
        assert paid_in_year(conn, 2025) == {ann: 999_00}
        assert paid_in_year(conn, 2026, currency="EUR") == {di: 30_00}
        # In the company's zone, 23:00 UTC on 31 December is already next year in Tokyo.
        assert paid_in_year(conn, 2026, zone=ZoneInfo("Asia/Tokyo"))[ann] == 1500_00
    thresholds = parse_thresholds("1900-01-01=600.00,2026-01-01=2000.00")
    with transaction(engine) as s:
        result = form_1099_nec(s, 2026, thresholds)
        assert [(f.member_id, f.account_id, f.nonemployee_comp) for f in result.forms] == [
            (ann, "D-ANN", 2100_00), (bo, f"M{bo}", 2100_00)]
        assert [f.member_id for f in result.missing_tax_id] == [bo]
        assert [f.member_id for f in form_1099_nec(s, 2025, thresholds).forms] == [ann]


def test_the_demo_pays_some_distributors_by_ach_and_iban_one_without_tax_id(
        engine: Engine) -> None:
    from patronage.demo.build import PayoutSettings, build_demo

    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    summary = build_demo(engine, seed=4, members=500, months=2, now=now,
                         payouts=PayoutSettings(VAULT, "Demo Co", "care@demo.example", 14))
    assert summary.extra["payout methods set"] >= 5
    assert summary.extra["tax ids on file"] == summary.extra["payout methods set"] - 1
    assert summary.extra["payout method emails (simulated outbox)"] >= 1
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(PayoutMethod.member_id, PayoutMethod.kind)).all())
        accounts = accounts_for(conn, kinds, vault=VAULT)
        holds = method_holds(conn, kinds, now, cooling_days=14)
    assert {"us_ach", "iban"} <= set(kinds.values())
    assert all(a.kind == kinds[m] for m, a in accounts.items())
    codes = sorted(h.code for hs in holds.values() for h in hs)
    assert codes == ["method_cooling", "no_tax_id"]
    # The batch (built after the methods) pays only members with a usable method, and the
    # demo exported its bank files as `patronage payouts export` writes them.
    with engine.connect() as conn:
        paid = set(conn.scalars(select(PaymentRow.member_id)))
    assert paid and paid <= set(kinds) - set(holds)
    assert "nacha USD" in str(summary.extra["payout files (patronage payouts export)"])
    from patronage.integrity import check_integrity

    assert check_integrity(engine, now).findings == []


def test_erasure_deletes_the_payout_method_and_keeps_the_tax_id(engine: Engine) -> None:
    from patronage.network.members import erase_member

    dana = _dana(engine, country="US")
    with transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="x", vault=VAULT, now=NOW)
        set_tax_id(s, member_id=dana, country="US", kind="ssn", number="536-90-4399",
                   actor="x", vault=VAULT, now=NOW)
    with transaction(engine) as s:
        erase_member(s, dana, at=NOW, actor="staff:ann")
    with engine.connect() as conn:
        assert accounts_for(conn, [dana], vault=VAULT) == {}
        assert conn.execute(text("SELECT COUNT(*) FROM tax_ids")).scalar() == 1
    with pytest.raises(PatronageError, match="was erased"), transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="x", vault=VAULT, now=NOW)


def test_the_member_export_shows_payout_method_and_tax_id_masked(engine: Engine) -> None:
    import json

    from patronage.network.privacy import export_member_data

    dana = _dana(engine, country="US")
    with transaction(engine) as s:
        set_method(s, member_id=dana, account=US_BANK, actor="x", vault=VAULT, now=NOW)
        set_tax_id(s, member_id=dana, country="US", kind="ssn", number="536-90-4399",
                   actor="x", vault=VAULT, now=NOW)
    with transaction(engine) as s:
        doc = export_member_data(s, dana, NOW, include_notes=False)
    assert doc["payout_method"]["label"] == "US bank account •••• 6789"
    assert [c["current"] for c in doc["payout_method_changes"]] == ["US bank account •••• 6789"]
    assert doc["tax_id"] == {"country": "US", "kind": "ssn", "masked": "•••• 4399"}
    text_ = json.dumps(doc, default=str)
    assert "123456789" not in text_ and "536904399" not in text_
