"""Importing a distributor's contacts from a phone's vCard export and from CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from patronage.care.contacts import import_contacts, parse_birthday, phone_key
from patronage.db.care import Contact
from patronage.db.engine import transaction
from patronage.errors import NotFound, PatronageError, Problems
from tests.fixtures.care_data import customer, distributor

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "contacts"
pytestmark = pytest.mark.storage


def _contacts(engine: Engine, owner: int) -> list[tuple[object, ...]]:
    with transaction(engine) as s:
        rows = s.scalars(select(Contact).where(Contact.owner_id == owner)
                         .order_by(Contact.id)).all()
        return [(c.first_name, c.last_name, c.email, c.phone, c.birth_month, c.birth_day,
                 c.birth_year, c.source) for c in rows]


def test_vcard_from_a_phone_imports_every_version_and_reports_skips(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        report = import_contacts(s, dana, FIXTURES / "phone_export.vcf", now=NOW)
    assert _contacts(engine, dana) == [
        ("Sally", "Smith", "sally@example.com", "+13125550123", 3, 15, 1985, "vcard"),
        ("Jürgen", "Müller", None, "+4915123456789", 7, 4, None, "vcard"),
        ("Ann", "Lee", "ann@example.net", "+442079460958", 12, 24, None, "vcard"),
        ("Bo", "Chen", None, None, 2, 29, 1992, "vcard"),
    ]
    assert [(s.place, s.reason) for s in report.skipped] == [
        ("phone_export.vcf, card 4 (line 26)", "no name"),
        ("phone_export.vcf, card 5 (line 32)",
         "duplicate of phone_export.vcf, card 1 (line 1) (Sally Smith) (same phone)"),
    ]


def test_phones_are_stored_in_e164_read_in_the_distributors_country(engine: Engine,
                                                                   tmp_path: Path) -> None:
    """A number without its country code is read in the distributor's country; one that is
    not a phone number is left out with the reason, and the contact is kept."""
    file = tmp_path / "book.csv"
    file.write_text("name,email,phone\nLuz Diaz,luz@example.com,(312) 555-0142\n"
                    "Pat Moe,pat@example.com,12345\n", encoding="utf-8")
    with transaction(engine) as s:
        dana = distributor(s)
        report = import_contacts(s, dana, file, now=NOW)
    assert [r.name for r in report.imported] == ["Luz Diaz", "Pat Moe"]
    assert [(d.place, d.name, d.reason) for d in report.dropped_phones] == [
        ("book.csv, line 3", "Pat Moe",
         "phone '12345' is not a valid phone number in US (write it with its +country code "
         "if it is from another country)")]
    assert [(c[0], c[3]) for c in _contacts(engine, dana)] == [("Luz", "+13125550142"),
                                                              ("Pat", None)]


def test_csv_import_against_stored_contacts_and_within_the_file(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        import_contacts(s, dana, FIXTURES / "phone_export.vcf", now=NOW)
    with transaction(engine) as s:
        report = import_contacts(s, dana, FIXTURES / "contacts.csv", now=NOW)
    assert [r.name for r in report.imported] == ["Tom Ray", "Maria Lopez", "Kim Park"]
    assert [(s.place, s.reason) for s in report.skipped] == [
        ("contacts.csv, line 2", "duplicate of contact 1 (Sally Smith) (same email)"),
        ("contacts.csv, line 5",
         "duplicate of contacts.csv, line 3 (Tom Ray) (same phone)"),
        ("contacts.csv, line 6", "no name"),
    ]
    rows = _contacts(engine, dana)
    assert rows[4:] == [
        ("Tom", "Ray", "tom@example.com", "+13125550100", 5, 6, None, "csv"),
        ("Maria", "Lopez", "maria@example.com", None, 8, 9, None, "csv"),
        ("Kim", "Park", "kim@example.com", None, None, None, None, "csv"),
    ]
    # Importing the same file again adds nothing: every row is now a duplicate.
    with transaction(engine) as s:
        again = import_contacts(s, dana, FIXTURES / "contacts.csv", now=NOW)
    assert again.imported == [] and len(again.skipped) == 6
    assert len(_contacts(engine, dana)) == 7


def test_duplicates_are_per_distributor(engine: Engine) -> None:
    with transaction(engine) as s:
        dana, omar = distributor(s), distributor(s, "Omar")
        import_contacts(s, dana, FIXTURES / "contacts.csv", now=NOW)
        report = import_contacts(s, omar, FIXTURES / "contacts.csv", now=NOW)
    assert len(report.imported) == 4  # Sally, Tom, Maria, Kim: nothing of Dana's counts


def test_dry_run_writes_nothing(engine: Engine) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        report = import_contacts(s, dana, FIXTURES / "contacts.csv", now=NOW, dry_run=True)
    assert report.dry_run and len(report.imported) == 4
    assert _contacts(engine, dana) == []


@pytest.mark.parametrize(("name", "expected"), [
    ("broken.vcf", ["broken.vcf, card 2 (line 6): birthday '1990-02-30' is not a calendar day",
                    "broken.vcf, card 3 (line 11): 'not-an-address' is not a valid email address: "
                    "An email address must have an @-sign."]),
    ("broken.csv", ["broken.csv, line 2: birthday '1980-13-01' is not a calendar day",
                    "broken.csv, line 3: 'bea.example.com' is not a valid email address: "
                    "An email address must have an @-sign."]),
])
def test_malformed_files_are_refused_whole_naming_every_place(engine: Engine, name: str,
                                                              expected: list[str]) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
    with pytest.raises(Problems) as caught, transaction(engine) as s:
        import_contacts(s, dana, FIXTURES / name, now=NOW)
    assert [str(p) for p in caught.value.problems] == expected
    assert _contacts(engine, dana) == []


def test_wrong_owner_or_file_kind_is_refused(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as s:
        dana = distributor(s)
        sally = customer(s, dana)
        with pytest.raises(NotFound, match=f"distributor {sally} does not exist"):
            import_contacts(s, sally, FIXTURES / "contacts.csv", now=NOW)
        with pytest.raises(PatronageError, match=r"give a \.vcf"):
            import_contacts(s, dana, tmp_path / "people.xlsx", now=NOW)
        bad = tmp_path / "nocol.csv"
        bad.write_text("email\nx@example.com\n")
        with pytest.raises(Problems, match="needs a 'name' column"):
            import_contacts(s, dana, bad, now=NOW)


@pytest.mark.parametrize(("text", "parts"), [
    ("1985-03-15", (3, 15, 1985)), ("19850315", (3, 15, 1985)), ("--0315", (3, 15, None)),
    ("--03-15", (3, 15, None)), ("1604-03-15", (3, 15, None)), ("--02-29", (2, 29, None)),
    ("1985-03-15T00:00:00Z", (3, 15, 1985)), ("", (None, None, None)),
])
def test_birthday_forms(text: str, parts: tuple[int | None, ...]) -> None:
    assert parse_birthday(text, "here") == parts


def test_phone_keys_compare_digits() -> None:
    assert phone_key("+1 (555) 123-4567") == phone_key("555.123.4567") == "5551234567"
    assert phone_key("0049 151 2345 6789") == phone_key("+49 151 2345 6789")
