"""Bank details, tax ids, thresholds and the 1099-NEC rows (pure), and the vault."""

from __future__ import annotations

import csv
import io

import pytest
from cryptography.fernet import Fernet

from patronage.errors import PatronageError, Problems
from patronage.payouts.core.accounts import PayoutAccount, aba_check_digit_ok, check_account
from patronage.payouts.core.tax_forms import (
    Recipient,
    check_tax_id,
    form_csv,
    missing_csv,
    parse_thresholds,
    threshold_for,
    year_end,
)
from patronage.payouts.secrets import SecretError, Vault

DEFAULT = "1900-01-01=600.00,2026-01-01=2000.00"


def _places(exc: pytest.ExceptionInfo[Problems]) -> dict[str, str]:
    return {p.place: p.reason for p in exc.value.problems}


def test_iban_and_bic_are_checked_and_normalised() -> None:
    ok = check_account(PayoutAccount("iban", "  Olivia   Smith ",
                                     iban="gb29 nwbk 6016 1331 9268 19", bic="nwbkgb2l"))
    assert (ok.holder, ok.iban, ok.bic) == ("Olivia Smith", "GB29NWBK60161331926819",
                                            "NWBKGB2L")
    assert ok.masked == "•••• 6819"
    assert ok.describe() == "bank account (IBAN) •••• 6819"


def test_bad_iban_and_bic_are_refused_with_the_reason_by_field() -> None:
    with pytest.raises(Problems) as exc:
        check_account(PayoutAccount("iban", "", iban="GB29 NWBK 6016 1331 9268 18",
                                    bic="NOTABIC"))
    places = _places(exc)
    assert set(places) == {"holder", "iban", "bic"}
    assert places["iban"] == "not a valid IBAN: the check digits are wrong"
    assert places["bic"] == "not a valid IBAN or BIC: wrong length for the country"
    with pytest.raises(Problems) as exc:
        check_account(PayoutAccount("iban", "X", iban="XX29 NWBK 6016 1331 9268 19"))
    assert _places(exc) == {"iban": "the country code is not one that uses these numbers"}


def test_us_routing_number_check_digit() -> None:
    assert aba_check_digit_ok("021000021")  # JPMorgan Chase, New York
    assert aba_check_digit_ok("011000015")  # Federal Reserve Bank of Boston
    assert not aba_check_digit_ok("021000022")
    assert not aba_check_digit_ok("02100002")
    with pytest.raises(Problems) as exc:
        check_account(PayoutAccount("us_ach", "John", routing_number="021000022",
                                    account_number="12"))
    places = _places(exc)
    assert places["routing_number"] == "the routing number's check digit is wrong"
    assert places["account_number"] == "an account number has 4 to 17 digits"
    ok = check_account(PayoutAccount("us_ach", "John", routing_number="021-000-021",
                                     account_number="0001234567", account_type="savings"))
    assert (ok.routing_number, ok.account_number, ok.masked) == ("021000021", "0001234567",
                                                                 "•••• 4567")


def test_canadian_transit_and_institution() -> None:
    ok = check_account(PayoutAccount("ca_eft", "Luc", institution="003", transit="12345",
                                     account_number="1234567"))
    assert ok.describe() == "Canadian bank account •••• 4567"
    with pytest.raises(Problems) as exc:
        check_account(PayoutAccount("ca_eft", "Luc", institution="03", transit="1234A",
                                    account_number="123"))
    assert set(_places(exc)) == {"institution", "transit", "account_number"}


def test_ewallet_id() -> None:
    ok = check_account(PayoutAccount("ewallet", "Ana", provider="PayQuicker",
                                     wallet_id="ana@example.com"))
    assert ok.masked == "•••• .com"
    with pytest.raises(Problems) as exc:
        check_account(PayoutAccount("ewallet", "Ana", provider="", wallet_id="a b"))
    assert set(_places(exc)) == {"provider", "wallet_id"}


@pytest.mark.parametrize(("country", "kind", "number", "compact"), [
    ("US", "ssn", "536-90-4399", "536904399"),
    ("US", "ein", "04-2103594", "042103594"),
    ("CA", "sin", "130 692 544", "130692544"),
    ("CA", "bn", "12345 6782", "123456782"),
    ("GB", "utr", "1955839661", "1955839661"),
    ("MX", "rfc", "GODE 561231 GR8", "GODE561231GR8"),
    ("DE", "vat", "DE 136,695 976", "DE136695976"),
])
def test_valid_tax_ids(country: str, kind: str, number: str, compact: str) -> None:
    tax_id = check_tax_id(country, kind, number)
    assert tax_id.number == compact
    assert tax_id.masked == f"•••• {compact[-4:]}"


@pytest.mark.parametrize(("country", "kind", "number", "place", "words"), [
    ("US", "ssn", "078-05-1120", "number", "a part of it is never issued"),  # the wallet SSN
    ("US", "ssn", "123-45-678", "number", "letters or digits in the wrong places"),
    ("US", "ein", "00-0000000", "number", "a part of it is never issued"),
    ("CA", "sin", "130 692 545", "number", "the check digit is wrong"),
    ("GB", "utr", "1955839662", "number", "the check digit is wrong"),
    ("US", "sin", "130692544", "kind", "not a kind of tax id of this country"),
    ("BR", "cpf", "1", "country", "tax ids of this country are not collected"),
    ("FR", "vat", "DE136695976", "number", "a VAT number of another country"),
])
def test_invalid_tax_ids_are_refused_with_the_reason(country: str, kind: str, number: str,
                                                     place: str, words: str) -> None:
    with pytest.raises(Problems) as exc:
        check_tax_id(country, kind, number)
    places = _places(exc)
    assert list(places) == [place]
    assert words.lower() in places[place].lower()


def test_thresholds_are_dated_data() -> None:
    schedule = parse_thresholds(DEFAULT)
    assert threshold_for(2025, schedule) == 600_00
    assert threshold_for(2026, schedule) == 2000_00
    assert threshold_for(2027, schedule) == 2000_00  # until the indexed amount is added
    indexed = parse_thresholds(DEFAULT + ",2027-01-01=2050.00")
    assert threshold_for(2027, indexed) == 2050_00
    assert threshold_for(2026, indexed) == 2000_00


@pytest.mark.parametrize(("text", "words"), [
    ("2026-13-01=1.00", "entry 1: '2026-13-01' is not a date"),
    ("2026-01-01", "entry 1: write DATE=AMOUNT"),
    ("2026-01-01=1.001", "more than 2 decimal places"),
    ("2026-01-01=1,2026-01-01=2", "entry 2: 2026-01-01 is given twice"),
    ("", "no threshold given"),
])
def test_bad_thresholds_are_refused_naming_the_entry(text: str, words: str) -> None:
    with pytest.raises(PatronageError, match=words):
        parse_thresholds(text)


def test_year_end_forms_at_or_above_the_threshold_and_missing_tax_ids() -> None:
    recipients = {1: Recipient(1, "D-1", "Ann Lee", True), 2: Recipient(2, "D-2", "Bo Park", False),
                  3: Recipient(3, "D-3", "Cy Diaz", True)}
    paid = {1: 2000_00, 2: 2500_00, 3: 1999_99, 4: 9000_00}  # 4 is not a US recipient
    result = year_end(2026, paid, recipients, parse_thresholds(DEFAULT))
    assert result.threshold == 2000_00
    assert [f.member_id for f in result.forms] == [1, 2]
    assert [f.member_id for f in result.missing_tax_id] == [2]
    rows = list(csv.DictReader(io.StringIO(form_csv(result).decode())))
    assert rows[0] == {"account_id": "D-1", "nonemployee_comp": "2000.00",
                       "direct_sales_5000_consumer_products": "FALSE",
                       "federal_tax_withheld": "0.00", "state_tax_withheld": "0.00",
                       "state": "", "payers_state_number": "", "state_income": "0.00"}
    assert list(csv.reader(io.StringIO(missing_csv(result).decode()))) == [
        ["member_id", "account_id", "name", "nonemployee_comp"], ["2", "D-2", "Bo Park",
                                                                  "2500.00"]]
    # In 2025 the threshold was 600.00: 1999.99 is reported.
    assert [f.member_id for f in year_end(2025, paid, recipients,
                                          parse_thresholds(DEFAULT)).forms] == [1, 2, 3]


def test_vault_seals_per_member_and_rotates() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    vault = Vault(old)
    token = vault.seal(7, {"iban": "GB29NWBK60161331926819"})
    assert "GB29" not in token
    assert vault.open(7, token) == {"iban": "GB29NWBK60161331926819"}
    with pytest.raises(SecretError, match="belongs to another member"):
        vault.open(8, token)
    rotated = Vault(f"{new},{old}")
    fresh = rotated.rotate(token)
    assert Vault(new).open(7, fresh) == {"iban": "GB29NWBK60161331926819"}
    with pytest.raises(SecretError, match="cannot be decrypted"):
        Vault(new).open(7, token)
    with pytest.raises(SecretError, match="key 1 is not a Fernet key"):
        Vault("nope")
    derived = Vault("", secret_key="s" * 32)
    assert Vault("", secret_key="s" * 32).open(1, derived.seal(1, {})) == {}
