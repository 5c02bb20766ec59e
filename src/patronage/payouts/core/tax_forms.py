"""Tax ids and year-end tax data (pure).

Tax ids are checked per country with ``python-stdnum``: the format and the check digits, so a
mistyped number is refused with the reason before it is stored. The kinds:

=======  ========  ===============================================================
country  kind      number
=======  ========  ===============================================================
US       ``ssn``   Social Security Number (``536-90-4399``)
US       ``ein``   Employer Identification Number (``04-2103594``)
CA       ``sin``   Social Insurance Number (``130 692 544``)
CA       ``bn``    Business Number (``123456782``)
GB       ``utr``   Unique Taxpayer Reference (``1955839661``)
MX       ``rfc``   Registro Federal de Contribuyentes (``GODE561231GR8``)
EU       ``vat``   VAT number with its country prefix (``DE136695976``), in the
                   member's EU country
=======  ========  ===============================================================

US 1099-NEC: a distributor's compensation paid in a calendar year is reported when it is at
or above that year's threshold. The thresholds are data (the setting
``PATRONAGE_TAX_1099_THRESHOLDS``, ``date=amount`` pairs): a year's threshold is the one in force
on 1 January of that year (600.00 through 2025, 2,000.00 for payments in 2026, and the indexed
amount the IRS publishes for each later year, added to the setting).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import ModuleType

from patronage.errors import PatronageError, Problem, Problems
from patronage.languages import N_
from patronage.money import format_amount, parse_amount

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})

#: The kinds of tax id each country takes.
COUNTRY_KINDS: dict[str, tuple[str, ...]] = {"US": ("ssn", "ein"), "CA": ("sin", "bn"),
                                             "GB": ("utr",), "MX": ("rfc",)}


def kinds_for(country: str) -> tuple[str, ...]:
    """The tax id kinds a member in ``country`` may give."""
    return ("vat",) if country in EU_COUNTRIES else COUNTRY_KINDS.get(country, ())


def _module(country: str, kind: str) -> ModuleType:
    if kind == "vat":
        from stdnum.eu import vat

        return vat
    from stdnum.ca import bn, sin
    from stdnum.gb import utr
    from stdnum.mx import rfc
    from stdnum.us import ein, ssn

    return {("US", "ssn"): ssn, ("US", "ein"): ein, ("CA", "sin"): sin, ("CA", "bn"): bn,
            ("GB", "utr"): utr, ("MX", "rfc"): rfc}[(country, kind)]


@dataclass(frozen=True)
class TaxId:
    """A checked tax id: ``number`` in its compact form (digits and letters only)."""

    country: str
    kind: str
    number: str

    @property
    def masked(self) -> str:
        """``•••• 4399``: the last four characters only."""
        return f"•••• {self.number[-4:]}"

    @property
    def formatted(self) -> str:
        """The number as it is usually written (``536-90-4399``)."""
        module = _module(self.country, self.kind)
        fmt = getattr(module, "format", None)
        return str(fmt(self.number)) if fmt else self.number


def _stdnum_reason(exc: Exception) -> str:
    """python-stdnum's refusal as a fixed sentence (translated where it is shown)."""
    from stdnum import exceptions as e

    if isinstance(exc, e.InvalidChecksum):
        return N_("not a valid number: the check digit is wrong")
    if isinstance(exc, e.InvalidLength):
        return N_("not a valid number: wrong number of digits")
    if isinstance(exc, e.InvalidComponent):
        return N_("not a valid number: a part of it is never issued")
    return N_("not a valid number: letters or digits in the wrong places")


def check_tax_id(country: str, kind: str, number: str) -> TaxId:
    """The tax id in compact form, or :class:`Problems` naming the field and the reason."""
    from stdnum.exceptions import ValidationError

    country = (country or "").strip().upper()
    kind = (kind or "").strip().lower()
    allowed = kinds_for(country)
    if not allowed:
        raise Problems("tax id refused", [Problem(
            "country", N_("tax ids of this country are not collected"))])
    if kind not in allowed:
        raise Problems("tax id refused", [Problem(
            "kind", N_("not a kind of tax id of this country"))])
    module = _module(country, kind)
    try:
        compact = str(module.validate("".join((number or "").split())))
    except ValidationError as exc:
        raise Problems("tax id refused", [Problem("number", _stdnum_reason(exc))]) from exc
    if kind == "vat" and compact[:2] != ("EL" if country == "GR" else country):
        raise Problems("tax id refused", [Problem(
            "number", N_("a VAT number of another country"))])
    return TaxId(country, kind, compact)


# --- thresholds --------------------------------------------------------------------------

@dataclass(frozen=True)
class Threshold:
    """From ``since`` (a date payments are made on), the reporting threshold ``amount`` (cents)."""

    since: date
    amount: int


def parse_thresholds(text: str, *, place: str = "PATRONAGE_TAX_1099_THRESHOLDS"
                     ) -> tuple[Threshold, ...]:
    """``1900-01-01=600.00,2026-01-01=2000.00`` as thresholds in date order (refused naming the
    entry when malformed, or a date given twice)."""
    out: dict[date, Threshold] = {}
    for n, part in enumerate((p.strip() for p in text.split(",") if p.strip()), start=1):
        day, sep, amount = part.partition("=")
        try:
            since = date.fromisoformat(day.strip())
        except ValueError as exc:
            raise PatronageError(f"{place}, entry {n}: {day.strip()!r} is not a date "
                                 "(YYYY-MM-DD)") from exc
        if not sep:
            raise PatronageError(f"{place}, entry {n}: write DATE=AMOUNT, e.g. "
                                 "2027-01-01=2050.00")
        cents = parse_amount(amount, place=f"{place}, entry {n}")
        if cents <= 0:
            raise PatronageError(f"{place}, entry {n}: the threshold must be positive")
        if since in out:
            raise PatronageError(f"{place}, entry {n}: {since} is given twice")
        out[since] = Threshold(since, cents)
    if not out:
        raise PatronageError(f"{place}: no threshold given")
    return tuple(sorted(out.values(), key=lambda t: t.since))


def threshold_for(year: int, thresholds: Iterable[Threshold]) -> int:
    """The threshold (cents) for payments made in ``year``: the one in force on 1 January."""
    start = date(year, 1, 1)
    found = [t for t in thresholds if t.since <= start]
    if not found:
        raise PatronageError(f"no 1099-NEC threshold in force on {start}")
    return found[-1].amount


# --- 1099-NEC ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    """A US distributor who may get a 1099-NEC: ``account_id`` is how the filing service knows
    them (the member's ref, else its id); ``has_tax_id`` whether a valid US tax id is on file."""

    member_id: int
    account_id: str
    name: str
    has_tax_id: bool


@dataclass(frozen=True)
class Form1099Row:
    member_id: int
    account_id: str
    name: str
    nonemployee_comp: int


@dataclass(frozen=True)
class YearEnd:
    """The year's forms (at or above the threshold) and, among them, those without a tax id."""

    year: int
    threshold: int
    forms: tuple[Form1099Row, ...]
    missing_tax_id: tuple[Form1099Row, ...]


def year_end(year: int, paid: Mapping[int, int], recipients: Mapping[int, Recipient],
             thresholds: Iterable[Threshold]) -> YearEnd:
    """The 1099-NEC forms of ``year``: every US recipient paid at least the year's threshold
    (``paid``: cents paid in the year by member, prizes and credits paid as income included),
    in member order."""
    threshold = threshold_for(year, thresholds)
    forms = tuple(Form1099Row(m, recipients[m].account_id, recipients[m].name, amount)
                  for m, amount in sorted(paid.items())
                  if m in recipients and amount >= threshold)
    missing = tuple(f for f in forms if not recipients[f.member_id].has_tax_id)
    return YearEnd(year, threshold, forms, missing)


#: The columns of the 1099-NEC form data import of TaxBit (its "1099-NEC Form Data Template").
FORM_COLUMNS = ("account_id", "nonemployee_comp", "direct_sales_5000_consumer_products",
                "federal_tax_withheld", "state_tax_withheld", "state", "payers_state_number",
                "state_income")


def form_csv(result: YearEnd) -> bytes:
    """The forms as TaxBit's 1099-NEC form data CSV (one row per recipient; amounts in dollars
    with cents; no withholding; the direct sales box left FALSE)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FORM_COLUMNS)
    for f in result.forms:
        writer.writerow([f.account_id, format_amount(f.nonemployee_comp), "FALSE", "0.00",
                         "0.00", "", "", "0.00"])
    return out.getvalue().encode("utf-8")


def missing_csv(result: YearEnd) -> bytes:
    """Those who need a form but have no valid tax id: ask them for a W-9."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("member_id", "account_id", "name", "nonemployee_comp"))
    for f in result.missing_tax_id:
        writer.writerow([f.member_id, f.account_id, f.name, format_amount(f.nonemployee_comp)])
    return out.getvalue().encode("utf-8")
