"""Payout files: SEPA pain.001 against the schema, NACHA field by field, the e-wallet CSV."""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st
from sepaxml import SepaTransfer

from patronage.payouts.core.accounts import PayoutAccount, check_account
from patronage.payouts.core.files import (
    Originator,
    PayoutFileError,
    PayoutPayment,
    write,
)
from patronage.payouts.core.files.nacha import MAX_AMOUNT, entry_hash

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
PAY_DAY = date(2026, 11, 20)
ORIGINATOR = Originator(
    "Patronage Demo Co.", iban="DE02120300000000202051", bic="BYLADEM1001",
    ach_company_id="1123456789", ach_odfi_routing="021000021",
    ach_destination="011000015", ach_destination_name="Federal Reserve Bank")


def _xsd() -> xmlschema.XMLSchema:
    import sepaxml

    return xmlschema.XMLSchema(os.path.join(os.path.dirname(sepaxml.__file__), "schemas",
                                            "pain.001.001.03.xsd"))


def _sepa_accounts() -> dict[int, PayoutAccount]:
    return {
        1: check_account(PayoutAccount("iban", "Anna Müller", iban="DE89 3704 0044 0532 0130 00",
                                       bic="COBADEFFXXX")),
        2: check_account(PayoutAccount("iban", "Jean Dupont",
                                       iban="FR14 2004 1010 0505 0001 3M02 606")),
    }


SEPA_PAYMENTS = [PayoutPayment("PAY-2026-11-0001", 1, "Anna Müller", 123_45, "EUR"),
                 PayoutPayment("PAY-2026-11-0002", 2, "Jean Dupont", 10_000_00, "EUR")]


def test_sepa_file_is_valid_pain_001_with_every_payment() -> None:
    out = write("sepa", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)
    _xsd().validate(out.decode())
    root = ET.fromstring(out)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "10123.45"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info is not None
    assert info.findtext("p:ReqdExctnDt", namespaces=NS) == "2026-11-20"
    assert info.findtext("p:PmtTpInf/p:SvcLvl/p:Cd", namespaces=NS) == "SEPA"
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE02120300000000202051"
    txs = info.findall("p:CdtTrfTxInf", NS)
    assert [t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in txs] == [
        "PAY-2026-11-0001", "PAY-2026-11-0002"]
    assert [t.findtext("p:Amt/p:InstdAmt", namespaces=NS) for t in txs] == ["123.45",
                                                                           "10000.00"]
    assert [t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) for t in txs] == [
        "DE89370400440532013000", "FR1420041010050500013M02606"]
    assert txs[0].findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "COBADEFFXXX"
    assert txs[0].findtext("p:Cdtr/p:Nm", namespaces=NS) == "Anna Muller"


def test_sepa_file_is_the_same_bytes_every_time_and_changes_with_the_payments() -> None:
    first = write("sepa", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)
    again = write("sepa", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)
    assert first == again
    other = write("sepa", SEPA_PAYMENTS[:1], _sepa_accounts(), ORIGINATOR, PAY_DAY)
    assert ET.fromstring(other).findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId",
                                         namespaces=NS) != ET.fromstring(first).findtext(
        "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS)


def test_sepa_file_matches_sepaxml_own_output_but_for_the_drawn_ids() -> None:
    """The library's own output for the same transfer, with its random ids and clock time set
    to ours, is the same document."""
    ours = write("sepa", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)
    theirs = SepaTransfer({"name": ORIGINATOR.name, "IBAN": ORIGINATOR.iban,
                           "BIC": ORIGINATOR.bic, "currency": "EUR", "batch": True})
    for p, acc in zip(SEPA_PAYMENTS, _sepa_accounts().values(), strict=True):
        payment = {"name": acc.holder, "IBAN": acc.iban, "amount": p.amount,
                   "currency": "EUR", "execution_date": PAY_DAY, "description": p.payment_ref,
                   "endtoend_id": p.payment_ref}
        if acc.bic:
            payment["BIC"] = acc.bic
        theirs.add_payment(payment)
    theirs_root = ET.fromstring(theirs.export(validate=True))
    ours_root = ET.fromstring(ours)
    for path in ("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", "p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm",
                 "p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId"):
        node = theirs_root.find(path, NS)
        assert node is not None
        node.text = ours_root.findtext(path, namespaces=NS)
    assert ET.tostring(theirs_root) == ET.tostring(ours_root)


def test_sepa_file_in_pounds_has_no_sepa_service_level_and_is_valid() -> None:
    gb = {5: check_account(PayoutAccount("iban", "Olivia Smith",
                                         iban="GB29 NWBK 6016 1331 9268 19"))}
    out = write("sepa", [PayoutPayment("PAY-GB-1", 5, "Olivia Smith", 250_00, "GBP")], gb,
                ORIGINATOR, PAY_DAY)
    _xsd().validate(out.decode())
    assert b"<Cd>SEPA</Cd>" not in out
    assert b'<InstdAmt Ccy="GBP">250.00</InstdAmt>' in out


@pytest.mark.parametrize(("payments", "reason"), [
    ([], "there are no payments"),
    ([PayoutPayment("A", 1, "Anna", 0, "EUR")], "'A' (member 1): the amount 0 is not positive"),
    ([PayoutPayment("A", 9, "Nobody", 100, "EUR")], "member 9): the member has no payout method"),
    ([PayoutPayment("A", 1, "Anna", 100, "EUR"), PayoutPayment("A", 2, "Jean", 100, "EUR")],
     "the reference is used twice"),
    ([PayoutPayment("A", 1, "Anna", 100, "EUR"), PayoutPayment("B", 2, "Jean", 100, "GBP")],
     "one currency per file"),
])
def test_sepa_file_refuses_bad_payments_naming_them(payments: list[PayoutPayment],
                                                    reason: str) -> None:
    with pytest.raises(PayoutFileError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        write("sepa", payments, _sepa_accounts(), ORIGINATOR, PAY_DAY)


# --- NACHA -------------------------------------------------------------------------------

ACH_ACCOUNTS = {
    10: check_account(PayoutAccount("us_ach", "José Álvarez", routing_number="021000021",
                                    account_number="123456789")),
    11: check_account(PayoutAccount("us_ach", "Mary Johnson", routing_number="011000015",
                                    account_number="98765432101234567",
                                    account_type="savings")),
}
ACH_PAYMENTS = [PayoutPayment("PAY-0001", 10, "José Álvarez", 1_234_56, "USD"),
                PayoutPayment("PAY-0002", 11, "Mary Johnson", 50_00, "USD")]
CREATED = datetime(2026, 11, 18, 9, 30)


def _field(record: str, first: int, last: int) -> str:
    """Positions as the Nacha Rules print them: 1-based, inclusive."""
    return record[first - 1:last]


def _nacha() -> list[str]:
    out = write("nacha", ACH_PAYMENTS, ACH_ACCOUNTS, ORIGINATOR, PAY_DAY, created=CREATED)
    assert out.endswith(b"\n")
    return out.decode("ascii").split("\n")[:-1]


def test_nacha_records_are_94_characters_blocked_by_ten() -> None:
    records = _nacha()
    assert all(len(r) == 94 for r in records)
    assert len(records) == 10  # 1 + 1 + 2 + 1 + 1 = 6, filled to 10
    assert [r[0] for r in records] == ["1", "5", "6", "6", "8", "9", "9", "9", "9", "9"]
    assert records[6:] == ["9" * 94] * 4


def test_nacha_file_header_fields() -> None:
    h = _nacha()[0]
    assert _field(h, 1, 1) == "1"
    assert _field(h, 2, 3) == "01"
    assert _field(h, 4, 13) == " 011000015"
    assert _field(h, 14, 23) == "1123456789"
    assert _field(h, 24, 29) == "261118"
    assert _field(h, 30, 33) == "0930"
    assert _field(h, 34, 34) == "A"
    assert _field(h, 35, 37) == "094"
    assert _field(h, 38, 39) == "10"
    assert _field(h, 40, 40) == "1"
    assert _field(h, 41, 63) == "FEDERAL RESERVE BANK".ljust(23)
    assert _field(h, 64, 86) == "PATRONAGE DEMO CO.".ljust(23)
    assert _field(h, 87, 94) == " " * 8


def test_nacha_batch_header_fields() -> None:
    b = _nacha()[1]
    assert _field(b, 1, 1) == "5"
    assert _field(b, 2, 4) == "220"
    assert _field(b, 5, 20) == "PATRONAGE DEMO C"
    assert _field(b, 21, 40) == " " * 20
    assert _field(b, 41, 50) == "1123456789"
    assert _field(b, 51, 53) == "PPD"
    assert _field(b, 54, 63) == "COMMISSION"
    assert _field(b, 64, 69) == "261120"
    assert _field(b, 70, 75) == "261120"
    assert _field(b, 76, 78) == "   "
    assert _field(b, 79, 79) == "1"
    assert _field(b, 80, 87) == "02100002"
    assert _field(b, 88, 94) == "0000001"


def test_nacha_entry_detail_fields() -> None:
    first, second = _nacha()[2:4]
    assert _field(first, 1, 1) == "6"
    assert _field(first, 2, 3) == "22"
    assert _field(first, 4, 11) == "02100002"
    assert _field(first, 12, 12) == "1"
    assert _field(first, 13, 29) == "123456789".ljust(17)
    assert _field(first, 30, 39) == "0000123456"
    assert _field(first, 40, 54) == "PAY-0001".ljust(15)
    assert _field(first, 55, 76) == "JOSE ALVAREZ".ljust(22)
    assert _field(first, 77, 78) == "  "
    assert _field(first, 79, 79) == "0"
    assert _field(first, 80, 94) == "021000020000001"
    assert _field(second, 2, 3) == "32"
    assert _field(second, 4, 12) == "011000015"
    assert _field(second, 13, 29) == "98765432101234567"
    assert _field(second, 30, 39) == "0000005000"
    assert _field(second, 80, 94) == "021000020000002"


def test_nacha_batch_and_file_control_fields() -> None:
    records = _nacha()
    c, f = records[4], records[5]
    # Entry hash: 02100002 + 01100001 = 03200003.
    assert entry_hash(["021000021", "011000015"]) == 3_200_003
    assert _field(c, 1, 1) == "8"
    assert _field(c, 2, 4) == "220"
    assert _field(c, 5, 10) == "000002"
    assert _field(c, 11, 20) == "0003200003"
    assert _field(c, 21, 32) == "0" * 12
    assert _field(c, 33, 44) == "000000128456"
    assert _field(c, 45, 54) == "1123456789"
    assert _field(c, 55, 73) == " " * 19
    assert _field(c, 74, 79) == " " * 6
    assert _field(c, 80, 87) == "02100002"
    assert _field(c, 88, 94) == "0000001"
    assert _field(f, 1, 1) == "9"
    assert _field(f, 2, 7) == "000001"
    assert _field(f, 8, 13) == "000001"
    assert _field(f, 14, 21) == "00000002"
    assert _field(f, 22, 31) == "0003200003"
    assert _field(f, 32, 43) == "0" * 12
    assert _field(f, 44, 55) == "000000128456"
    assert _field(f, 56, 94) == " " * 39


def test_nacha_worked_example_whole_file() -> None:
    """A one-payment file written out in full: 5 records and 5 filler records."""
    one = write("nacha", ACH_PAYMENTS[:1], ACH_ACCOUNTS, ORIGINATOR, PAY_DAY, created=CREATED)
    expected = (
        "101 01100001511234567892611180930A094101FEDERAL RESERVE BANK   PATRONAGE DEMO CO.     "
        "        \n"
        "5220PATRONAGE DEMO C                    1123456789PPDCOMMISSION261120261120   "
        "1021000020000001\n"
        "622021000021123456789        0000123456PAY-0001       JOSE ALVAREZ            "
        "0021000020000001\n"
        "822000000100021000020000000000000000001234561123456789                         "
        "021000020000001\n"
        "9000001000001000000010002100002000000000000000000123456                          "
        "             \n"
        + ("9" * 94 + "\n") * 5
    )
    assert one.decode("ascii") == expected


def test_nacha_entry_hash_keeps_the_rightmost_ten_digits() -> None:
    assert entry_hash(["999999999"] * 2000) == (99_999_999 * 2000) % 10**10


def test_nacha_blocks_exactly_ten_records_without_filler() -> None:
    accounts = {i: ACH_ACCOUNTS[10] for i in range(6)}
    payments = [PayoutPayment(f"P{i}", i, "X", 100, "USD") for i in range(6)]
    records = write("nacha", payments, accounts, ORIGINATOR, PAY_DAY).decode().splitlines()
    assert len(records) == 10
    assert records[-1][0] == "9" and records[-1] != "9" * 94


def test_nacha_refuses_other_currencies_accounts_and_bad_company_bank() -> None:
    with pytest.raises(PayoutFileError, match="pays US dollars, not EUR"):
        write("nacha", [PayoutPayment("P", 10, "X", 100, "EUR")], ACH_ACCOUNTS, ORIGINATOR,
              PAY_DAY)
    with pytest.raises(PayoutFileError, match=r"cannot be paid in this file \(it takes us_ach"):
        write("nacha", [PayoutPayment("P", 1, "X", 100, "USD")], _sepa_accounts(), ORIGINATOR,
              PAY_DAY)
    bad = Originator("Co", ach_company_id="1", ach_odfi_routing="021000022")
    with pytest.raises(PayoutFileError, match="'021000022' is not a valid routing number"):
        write("nacha", ACH_PAYMENTS, ACH_ACCOUNTS, bad, PAY_DAY)


def test_nacha_is_deterministic() -> None:
    assert write("nacha", ACH_PAYMENTS, ACH_ACCOUNTS, ORIGINATOR, PAY_DAY) == write(
        "nacha", ACH_PAYMENTS, ACH_ACCOUNTS, ORIGINATOR, PAY_DAY)


# --- e-wallet CSV ------------------------------------------------------------------------

def test_ewallet_csv_columns_and_amounts_in_the_currency_minor_units() -> None:
    accounts = {
        20: check_account(PayoutAccount("ewallet", "Ana García", provider="PayQuicker",
                                        wallet_id="ana@example.com")),
        21: check_account(PayoutAccount("ewallet", "=cmd()", provider="Hyperwallet",
                                        wallet_id="HW-123456")),
    }
    out = write("ewallet_csv", [PayoutPayment("W1", 20, "Ana", 12_345, "MXN"),
                                PayoutPayment("W2", 21, "Evil", 5000, "JPY")],
                accounts, ORIGINATOR, PAY_DAY)
    assert out == write("ewallet_csv", [PayoutPayment("W1", 20, "Ana", 12_345, "MXN"),
                                        PayoutPayment("W2", 21, "Evil", 5000, "JPY")],
                        accounts, ORIGINATOR, PAY_DAY)
    rows = list(csv.reader(io.StringIO(out.decode("utf-8"))))
    assert rows == [
        ["payment_ref", "member_id", "payee_name", "provider", "wallet_id", "amount", "currency",
         "execution_date"],
        ["W1", "20", "Ana García", "PayQuicker", "ana@example.com", "123.45", "MXN",
         "2026-11-20"],
        ["W2", "21", "'=cmd()", "Hyperwallet", "HW-123456", "5000", "JPY", "2026-11-20"],
    ]
    assert out.count(b"\r\n") == 3


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(PayoutFileError, match="'swift' is not one of sepa, nacha, ewallet_csv"):
        write("swift", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)  # type: ignore[arg-type]


def test_the_schema_check_refuses_an_invalid_document() -> None:
    from patronage.payouts.core.files.sepa import validate

    good = write("sepa", SEPA_PAYMENTS, _sepa_accounts(), ORIGINATOR, PAY_DAY)
    validate(good)
    bad = good.replace(b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>NOPE</ChrgBr>")
    with pytest.raises(PayoutFileError, match=r"not valid against pain\.001\.001\.03: "
                                              r"line 1: .*ChrgBr"):
        validate(bad)


ROUTINGS = ("021000021", "011000015", "026009593", "121000248")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ROUTINGS), st.integers(1, MAX_AMOUNT),
                          st.sampled_from(("checking", "savings"))), min_size=1, max_size=25))
def test_nacha_controls_add_up_for_any_payments(rows: list[tuple[str, int, str]]) -> None:
    accounts = {i: PayoutAccount("us_ach", f"P{i}", routing_number=r,
                                 account_number=f"{1000 + i}", account_type=t)  # type: ignore[arg-type]
                for i, (r, _, t) in enumerate(rows)}
    payments = [PayoutPayment(f"R{i}", i, f"P{i}", amount, "USD")
                for i, (_, amount, _) in enumerate(rows)]
    records = write("nacha", payments, accounts, ORIGINATOR, PAY_DAY).decode().splitlines()
    assert all(len(r) == 94 for r in records) and len(records) % 10 == 0
    entries = [r for r in records if r[0] == "6"]
    control = next(r for r in records if r[0] == "8")
    file_control = next(r for r in records if r[0] == "9" and r != "9" * 94)
    assert len(entries) == len(rows)
    assert sum(int(_field(e, 30, 39)) for e in entries) == sum(a for _, a, _ in rows)
    assert int(_field(control, 33, 44)) == int(_field(file_control, 44, 55)) == sum(
        a for _, a, _ in rows)
    expected_hash = sum(int(r[:8]) for r, _, _ in rows) % 10**10
    assert int(_field(control, 11, 20)) == int(_field(file_control, 22, 31)) == expected_hash
    assert int(_field(file_control, 8, 13)) == len(records) // 10
    assert [int(_field(e, 88, 94)) for e in entries] == list(range(1, len(rows) + 1))
