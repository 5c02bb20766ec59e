"""A distributor's contacts, imported from a phone's vCard export or a CSV file.

vCard 2.1, 3.0 and 4.0 as phones write them (quoted-printable names, several emails and
phones, ``tel:`` URIs, birthdays with or without a year: ``1985-03-15``, ``19850315``,
``--0315``, ``--03-15``; the year 1604 that phones use for "no year" counts as none). CSV: a
header row with ``name`` (or ``first_name`` and ``last_name``), and optionally ``email``,
``phone``, ``birthday``; other columns are ignored.

A contact is a duplicate when it shares an email, a phone (compared on its digits, the last
ten when there are more) or its full name and birthday with a contact already kept, from the
same file or already stored for the distributor. Duplicates and cards without any name are
skipped and reported with their place; a malformed file (a birthday that is not a calendar
day, an email without ``@``, a vCard that cannot be read) is refused whole, every problem
listed, nothing written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import vobject
from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.db.care import Contact
from patronage.db.tables import Member
from patronage.errors import N_, NotFound, PatronageError, Problem, Problems
from patronage.markets.core.contacts import phone_problem
from patronage.network.intake import normalise_email
from patronage.network.members import member_country

NO_YEAR = 1604  # what phones write when a birthday has no year
_BDAY = [
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:T.*)?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T.*)?$"),
    re.compile(r"^--(?P<m>\d{2})-?(?P<d>\d{2})$"),
    re.compile(r"^(?P<m>\d{2})-(?P<d>\d{2})$"),
]


@dataclass
class ContactRow:
    """One contact as read from a file, before duplicate checks."""

    place: str
    first_name: str
    last_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    birth_month: int | None = None
    birth_day: int | None = None
    birth_year: int | None = None
    address: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Skipped:
    place: str
    name: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    imported: list[ContactRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: Phone numbers left out of imported contacts, with the reason (the contact is kept).
    dropped_phones: list[Skipped] = field(default_factory=list)
    dry_run: bool = False


def parse_birthday(text: str, place: str) -> tuple[int | None, int | None, int | None]:
    """(month, day, year) from the forms phones and spreadsheets write; year may be None."""
    value = text.strip()
    if not value:
        return None, None, None
    for pattern in _BDAY:
        found = pattern.match(value)
        if found:
            parts = found.groupdict()
            year = int(parts["y"]) if parts.get("y") else None
            month, day = int(parts["m"]), int(parts["d"])
            if year == NO_YEAR:
                year = None
            try:
                date(year if year is not None else 2000, month, day)
            except ValueError as exc:
                raise PatronageError(N_("%(place)s: birthday %(value)r is not a calendar day"),
                                     values={"place": place, "value": value}) from exc
            return month, day, year
    raise PatronageError(N_("%(place)s: birthday %(value)r is not a date (use YYYY-MM-DD or "
                            "--MM-DD)"),
                         values={"place": place, "value": value})


def phone_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("00"):
        digits = digits[2:]
    return digits[-10:] if len(digits) >= 10 else digits


def _check_email(email: str, place: str) -> str:
    """One valid address, normalised (:func:`patronage.network.intake.normalise_email`)."""
    email = email.strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    checked = normalise_email(email, place=place)
    if checked is None:
        raise PatronageError(N_("%(place)s: %(email)r is not an email address"),
                             values={"place": place, "email": email})
    return checked


#: The most characters each contacts column may hold: the contacts table's column lengths.
_LIMITS = {"first_name": 100, "last_name": 100, "name": 201, "email": 254, "phone": 40}


def _cell_problems(header: list[str], values: list[str], place: str) -> list[Problem]:
    """NUL characters and texts longer than their column, each named by column."""
    found = []
    for name, value in zip(header, values, strict=False):
        if "\x00" in value:
            found.append(Problem(f"{place}, column {name}",
                                 "holds a NUL character (\\0), which no text may hold"))
        elif name in _LIMITS and len(value.strip()) > _LIMITS[name]:
            found.append(Problem(f"{place}, column {name}",
                                 f"{len(value.strip())} characters; at most {_LIMITS[name]} fit"))
    return found


def _values(card: Any, name: str) -> list[Any]:
    return [line.value for line in card.contents.get(name, [])]


def _card_row(card: Any, place: str) -> ContactRow:
    first = last = ""
    for n in _values(card, "n"):
        if hasattr(n, "given"):
            first, last = str(n.given or "").strip(), str(n.family or "").strip()
            break
    if not (first or last):
        full = " ".join(str(v).strip() for v in _values(card, "fn") if str(v).strip())
        if not full:
            full = " ".join(str(v[0] if isinstance(v, list) else v).strip()
                            for v in _values(card, "org") if v)
        first, _, last = full.strip().partition(" ")
    if not first and last:
        first, last = last, ""
    row = ContactRow(place=place, first_name=first[:100], last_name=last[:100])
    row.emails = [_check_email(str(v), place) for v in _values(card, "email") if str(v).strip()]
    row.phones = [str(v).strip().removeprefix("tel:")[:40] for v in _values(card, "tel")
                  if str(v).strip()]
    for bday in _values(card, "bday"):
        row.birth_month, row.birth_day, row.birth_year = parse_birthday(str(bday), place)
        break
    for adr in _values(card, "adr"):
        lines = [str(getattr(adr, part, "") or "").strip()
                 for part in ("street", "city", "region", "code", "country")]
        row.address = ", ".join(x for x in lines if x) or None
        break
    return row


def parse_vcard(text: str, filename: str = "contacts.vcf") -> list[ContactRow]:
    """Every card of a vCard file; :class:`Problems` naming each bad card."""
    starts = [n for n, line in enumerate(text.splitlines(), start=1)
              if line.strip().upper() == "BEGIN:VCARD"]
    rows: list[ContactRow] = []
    problems: list[Problem] = []
    try:
        cards = list(vobject.readComponents(text, ignoreUnreadable=False))
    except Exception as exc:
        raise Problems(f"{filename} is not a readable vCard file",
                       [Problem(filename, f"{type(exc).__name__}: {exc}")]) from exc
    if not cards and text.strip():
        raise Problems(f"{filename} holds no vCard", [Problem(filename, "no BEGIN:VCARD")])
    for index, card in enumerate(cards):
        line = starts[index] if index < len(starts) else 0
        place = f"{filename}, card {index + 1} (line {line})"
        try:
            rows.append(_card_row(card, place))
        except PatronageError as exc:
            problems.append(Problem(place, str(exc).removeprefix(place + ": ")))
    if problems:
        raise Problems(f"{filename} refused, nothing imported", problems)
    return rows


def parse_csv(text: str, filename: str = "contacts.csv") -> list[ContactRow]:
    """Every row of a contacts CSV; :class:`Problems` naming each bad line."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    has_name = "name" in header or "first_name" in header
    if not has_name:
        raise Problems(f"{filename} refused", [Problem(f"{filename}, line 1",
                       "needs a 'name' column (or 'first_name' and 'last_name')")])
    col = {name: header.index(name) for name in header}
    rows: list[ContactRow] = []
    problems: list[Problem] = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        place = f"{filename}, line {number}"
        if len(values) > len(header):
            problems.append(Problem(place, f"{len(values)} fields for {len(header)} columns"))
            continue
        bad_cells = _cell_problems(header, values, place)
        if bad_cells:
            problems += bad_cells
            continue

        def get(name: str, values: list[str] = values) -> str:
            i = col.get(name)
            return values[i].strip() if i is not None and i < len(values) else ""

        first, last = get("first_name"), get("last_name")
        if not (first or last):
            full = get("name")
            if "," in full:
                last, _, first = (p.strip() for p in full.partition(","))
            else:
                first, _, last = full.partition(" ")
        first, last = first.strip(), last.strip()
        for column, value in (("first_name", first), ("last_name", last)):
            if len(value) > _LIMITS[column]:
                problems.append(Problem(f"{place}, column {column}", f"{len(value)} characters; "
                                        f"at most {_LIMITS[column]} fit"))
        if len(first) > _LIMITS["first_name"] or len(last) > _LIMITS["last_name"]:
            continue
        row = ContactRow(place=place, first_name=first, last_name=last)
        try:
            if get("email"):
                row.emails = [_check_email(get("email"), place)]
            if get("phone"):
                row.phones = [get("phone")]
            bday = get("birthday") or get("bday") or get("birth_date")
            row.birth_month, row.birth_day, row.birth_year = parse_birthday(bday, place)
        except PatronageError as exc:
            problems.append(Problem(place, str(exc).removeprefix(place + ": ")))
            continue
        rows.append(row)
    if problems:
        raise Problems(f"{filename} refused, nothing imported", problems)
    return rows


class _Seen:
    """The keys of contacts kept so far, and whose they are."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, ...], str] = {}

    @staticmethod
    def keys_of(name: str, emails: Iterable[str], phones: Iterable[str], month: int | None,
                day: int | None) -> list[tuple[str, ...]]:
        keys: list[tuple[str, ...]] = [("email", e.strip().lower()) for e in emails]
        keys += [("phone", k) for k in (phone_key(p) for p in phones) if len(k) >= 5]
        if month is not None and day is not None and name.strip():
            keys.append(("name+birthday", " ".join(name.lower().split()), f"{month}-{day}"))
        return keys

    def duplicate_of(self, keys: list[tuple[str, ...]]) -> tuple[str, str] | None:
        for key in keys:
            if key in self.keys:
                return key[0], self.keys[key]
        return None

    def add(self, keys: list[tuple[str, ...]], who: str) -> None:
        for key in keys:
            self.keys.setdefault(key, who)


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def import_contacts(session: Session, owner_id: int, path: Path, *, now: datetime,
                    dry_run: bool = False) -> ImportReport:
    """Import a ``.vcf`` or ``.csv`` file into the distributor's contacts (see module doc)."""
    require_aware(now, place="now")
    owner = session.get(Member, owner_id)
    if owner is None or owner.kind != "distributor":
        raise NotFound(N_("distributor %(owner_id)s does not exist"),
                       values={"owner_id": owner_id})
    suffix = path.suffix.lower()
    if suffix not in (".vcf", ".vcard", ".csv"):
        raise PatronageError(N_("%(name)s: give a .vcf (vCard) or .csv file"),
                             values={"name": path.name})
    try:
        text = _decode(path.read_bytes(), path.name)
    except OSError as exc:
        raise PatronageError(N_("%(path)s: cannot be read (%(strerror)s)"),
                             values={"path": path, "strerror": exc.strerror}) from exc
    rows = parse_csv(text, path.name) if suffix == ".csv" else parse_vcard(text, path.name)
    return import_rows(session, owner_id, rows, now=now, dry_run=dry_run,
                       source="csv" if suffix == ".csv" else "vcard")


def _checked_phones(row: ContactRow, country: str | None, report: ImportReport) -> list[str]:
    """The row's numbers in E.164, read in the distributor's country when they carry no
    ``+`` country code; a number that is not one is left out and reported, the contact kept."""
    kept: list[str] = []
    for phone in row.phones:
        e164, problem = phone_problem(phone, country)
        if e164 is None:
            report.dropped_phones.append(Skipped(row.place, row.name, f"phone {problem}"))
        elif e164 not in kept:
            kept.append(e164)
    return kept


def import_rows(session: Session, owner_id: int, rows: list[ContactRow], *, now: datetime,
                dry_run: bool, source: str) -> ImportReport:
    seen = _Seen()
    for c in session.scalars(select(Contact).where(Contact.owner_id == owner_id)):
        name = f"{c.first_name} {c.last_name}".strip()
        seen.add(_Seen.keys_of(name, [c.email] if c.email else [],
                               [c.phone] if c.phone else [], c.birth_month, c.birth_day),
                 f"contact {c.id} ({name})")
    report = ImportReport(dry_run=dry_run)
    owner = session.get(Member, owner_id)
    country = member_country(session, owner) if owner is not None else None
    for row in rows:
        if not row.name:
            report.skipped.append(Skipped(row.place, "", "no name"))
            continue
        row.phones = _checked_phones(row, country, report)
        keys = _Seen.keys_of(row.name, row.emails, row.phones, row.birth_month, row.birth_day)
        dup = seen.duplicate_of(keys)
        if dup is not None:
            report.skipped.append(Skipped(row.place, row.name,
                                          f"duplicate of {dup[1]} (same {dup[0]})"))
            continue
        seen.add(keys, f"{row.place} ({row.name})")
        report.imported.append(row)
    if not dry_run:
        for row in report.imported:
            session.add(Contact(
                owner_id=owner_id, first_name=row.first_name, last_name=row.last_name,
                email=row.emails[0] if row.emails else None,
                phone=row.phones[0] if row.phones else None, address=row.address,
                birth_month=row.birth_month, birth_day=row.birth_day,
                birth_year=row.birth_year, source=source, created_at=now,
            ))
        session.flush()
    return report
