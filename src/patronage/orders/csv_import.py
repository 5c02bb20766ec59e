"""CSV import of members, products and orders: all or nothing.

Every row is checked (formats first, then references, then the same services and integrity rules
as any other entry); a file with problems yields *every* bad row with its line number, column and
reason, and nothing is written. ``dry_run`` checks everything and writes nothing either way.
Column formats are documented in the README ("CSV formats").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pycountry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from patronage.clock import DEFAULT_COMPANY_ZONE, zone
from patronage.csv_cells import unquote_cell
from patronage.db.engine import session_factory
from patronage.db.tables import Member, Order, Product
from patronage.errors import PatronageError, Problem, Problems
from patronage.money import format_amount, parse_amount
from patronage.network.intake import check_birth_year, check_joined_at, normalise_email
from patronage.network.members import NewMember, enroll_member
from patronage.orders.catalog import (
    DEFAULT_MAX_QUANTITY,
    MAX_LINE_QUANTITY,
    MAX_POINTS,
    NewProduct,
    add_product,
    price_problem,
    quantity_problem,
)
from patronage.orders.open_period import open_window
from patronage.orders.orders import LineRequest, NewOrder, place_order

MEMBER_COLUMNS = [
    "ref", "kind", "first_name", "last_name", "email", "phone", "sponsor_ref", "owner_ref",
    "referrer_ref", "joined_at", "timezone", "locale", "birth_month", "birth_day", "birth_year",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "channel",
    "consent_email", "consent_post", "consent_sms",
]
MEMBER_REQUIRED = ["ref", "kind", "first_name", "joined_at"]
PRODUCT_COLUMNS = ["sku", "name", "retail_price", "wholesale_price", "qv", "cv",
                   "is_enrollment_pack", "product_line", "volume_when_free", "max_quantity"]
PRODUCT_REQUIRED = ["sku", "name", "retail_price", "wholesale_price", "qv", "cv"]
ORDER_COLUMNS = ["order_key", "buyer_ref", "placed_at", "source", "currency", "sku", "quantity",
                 "unit_price"]
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
ORDER_REQUIRED = ["order_key", "buyer_ref", "placed_at", "sku", "quantity"]


@dataclass
class ImportReport:
    kind: str
    rows: int
    written: int
    dry_run: bool
    #: Records the file holds that were stored before (an orders file imported again).
    already: int = 0


class _Recorded(PatronageError):
    """A problem already recorded against the right line."""


class _Row:
    """One CSV row with helpers that record problems instead of raising."""

    def __init__(self, line: int, data: dict[str, str], problems: list[Problem]) -> None:
        self.line, self.data, self.problems = line, data, problems
        self.failed = False

    def bad(self, column: str, reason: str) -> None:
        self.failed = True
        self.problems.append(Problem(f"line {self.line}, column {column}", reason))

    def text(self, column: str) -> str | None:
        value = unquote_cell((self.data.get(column) or "").strip())
        return value or None

    def integer(self, column: str, low: int | None = None, high: int | None = None) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.bad(column, f"{value!r} is not a whole number")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.bad(column, f"{number} is outside {low}..{high}")
            return None
        return number

    def money(self, column: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        if not _PLAIN_DECIMAL.fullmatch(value):
            self.bad(column, f"{value!r} is not a number written like 19.90 (digits 0-9, an "
                             "optional point and decimals)")
            return None
        try:
            amount = parse_amount(value, place=column)
        except PatronageError as exc:
            self.bad(column, str(exc).split(": ", 1)[-1])
            return None
        if amount < 0:
            self.bad(column, f"{value} is negative")
            return None
        return amount

    def time(self, column: str) -> datetime | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.bad(column, f"{value!r} is not an ISO 8601 time")
            return None
        if moment.tzinfo is None:
            self.bad(column, f"{value!r} has no time zone (add Z or +hh:mm)")
            return None
        return moment

    def country(self, column: str) -> str | None:
        value = self.text(column)
        if value is None:
            return None
        if pycountry.countries.get(alpha_2=value.upper()) is None:
            self.bad(column, f"{value!r} is not a two-letter ISO 3166 country code (like US, "
                             "CA, GB, MX)")
            return None
        return value.upper()

    def check(self, column: str, value: object, rule: Callable[..., object]) -> None:
        """Apply a service's check to a parsed value; its refusal is recorded on ``column``."""
        if value is None:
            return
        try:
            rule(value)
        except PatronageError as exc:
            self.bad(column, str(exc).removeprefix(f"{column}: "))

    def flag(self, column: str) -> bool | None:
        value = self.text(column)
        if value is None:
            return None
        low = value.lower()
        if low in ("1", "true", "yes", "y"):
            return True
        if low in ("0", "false", "no", "n"):
            return False
        self.bad(column, f"{value!r} is not yes/no")
        return None


def _decode(data: bytes, problems: list[Problem]) -> str | None:
    """The file's text if it is UTF-8 (with or without a byte order mark); else a problem."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem("line 1", "the file is UTF-16; save it as UTF-8 (CSV UTF-8)"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(Problem(
            f"line {line}", f"byte 0x{data[exc.start]:02x} is not UTF-8 (the file looks like "
            "Latin-1 or Windows-1252); save it as UTF-8 (CSV UTF-8)"))
        return None


def _read(source: Path | str, columns: list[str], required: list[str],
          problems: list[Problem]) -> list[_Row]:
    text = _decode(source.read_bytes(), problems) if isinstance(source, Path) else source
    if text is None:
        return []
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    twice = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append(Problem("line 1 (header)", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        problems.append(Problem("line 1 (header)", f"unknown column(s): {', '.join(unknown)}"))
    if twice:
        problems.append(Problem("line 1 (header)",
                                f"column(s) named more than once: {', '.join(twice)}"))
    if missing or unknown or twice:
        return []
    rows = []
    for data in reader:
        row = _Row(reader.line_num, {k: v for k, v in data.items() if k is not None}, problems)
        extra = data.get(None)
        if extra:
            row.bad("(row)", f"{len(header) + len(extra)} values for {len(header)} columns")
        for column in required:
            if row.text(column) is None:
                row.bad(column, "is required")
        rows.append(row)
    return rows


def _run(engine: Engine, name: str, rows: list[_Row], problems: list[Problem], dry_run: bool,
         write: Callable[[Session, _Row], bool | None]) -> ImportReport:
    """Apply ``write`` to each row in one transaction; roll back on any problem or dry run.

    ``write`` returns False for a record that was stored before (counted as already there). In a
    dry run the report's ``written`` is what would have been written."""
    written = already = 0
    with session_factory(engine)() as session:
        session.begin()
        try:
            for row in rows:
                if row.failed:
                    continue
                try:
                    with session.begin_nested():
                        new = write(session, row)
                    if new is False:
                        already += 1
                    else:
                        written += 1
                except _Recorded:
                    pass
                except PatronageError as exc:
                    row.bad("(row)", str(exc))
            if problems:
                raise Problems(f"{name}: nothing imported", problems)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    return ImportReport(name, len(rows), written, dry_run, already)


def _member_refs(session: Session, refs: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(refs))
    found: dict[str, int] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        found.update({r: mid for r, mid in session.execute(
            select(Member.ref, Member.id).where(Member.ref.in_(chunk))) if r})
    return found


def import_members(engine: Engine, source: Path | str, *, dry_run: bool = False,
                   now: datetime | None = None) -> ImportReport:
    """Members, referring to each other by ``ref`` (in the file or already stored). ``now``
    bounds join dates and birth years from above (see :mod:`patronage.network.intake`)."""
    problems: list[Problem] = []
    name = str(source) if isinstance(source, Path) else "members"
    rows = _read(source, MEMBER_COLUMNS, MEMBER_REQUIRED, problems)
    by_ref: dict[str, _Row] = {}
    for row in rows:
        ref = row.text("ref")
        if ref is not None:
            if ref in by_ref:
                row.bad("ref", f"{ref!r} also on line {by_ref[ref].line}")
            else:
                by_ref[ref] = row
        tz = row.text("timezone")
        if tz is not None:
            try:
                zone(tz)
            except PatronageError:
                row.bad("timezone", f"{tz!r} is not an IANA time zone")
        row.check("joined_at", row.time("joined_at"), lambda at: check_joined_at(at, now))
        row.check("email", row.text("email"), normalise_email)
        row.country("country")
        for column, (low, high) in (("birth_month", (1, 12)), ("birth_day", (1, 31))):
            row.integer(column, low, high)
        row.check("birth_year", row.integer("birth_year"),
                  lambda year: check_birth_year(year, now))
        for column in ("consent_email", "consent_post", "consent_sms"):
            row.flag(column)

    # Order rows so that every referenced member is enrolled first (refs within the file).
    def deps(row: _Row) -> list[str]:
        return [r for c in ("sponsor_ref", "owner_ref", "referrer_ref")
                if (r := row.text(c)) is not None and r in by_ref]

    ordered: list[_Row] = []
    state: dict[int, int] = {}
    for start in rows:
        stack = [(start, 0)]
        while stack:
            row, i = stack.pop()
            if state.get(row.line) == 2:
                continue
            state[row.line] = 1
            refs = deps(row)
            if i < len(refs):
                stack.append((row, i + 1))
                nxt = by_ref[refs[i]]
                if state.get(nxt.line) == 1:
                    row.bad("sponsor_ref", f"cycle through {refs[i]!r} (line {nxt.line})")
                elif state.get(nxt.line) != 2:
                    stack.append((nxt, 0))
                continue
            state[row.line] = 2
            ordered.append(row)

    ids: dict[str, int] = {}

    def write(session: Session, row: _Row) -> None:
        if not ids:
            ids.update(_member_refs(session, [row.text(c) or "" for r in rows for c in
                                              ("sponsor_ref", "owner_ref", "referrer_ref")]))
        refs: dict[str, int | None] = {}
        for column in ("sponsor_ref", "owner_ref", "referrer_ref"):
            ref = row.text(column)
            if ref is not None and ref not in ids:
                if ref in by_ref:
                    raise PatronageError(f"{column}: {ref!r} (line {by_ref[ref].line}) "
                                         "could not be imported")
                raise PatronageError(f"{column}: no member with ref {ref!r}")
            refs[column] = None if ref is None else ids[ref]
        consents = {ch: v for ch in ("email", "post", "sms")
                    if (v := row.flag(f"consent_{ch}")) is not None}
        joined_at = row.time("joined_at")
        assert joined_at is not None
        member = enroll_member(session, NewMember(
            kind=row.text("kind") or "", first_name=row.text("first_name") or "",
            last_name=row.text("last_name") or "", joined_at=joined_at,
            email=row.text("email"), phone=row.text("phone"), sponsor_id=refs["sponsor_ref"],
            owner_id=refs["owner_ref"], referrer_id=refs["referrer_ref"],
            timezone=row.text("timezone") or "UTC", locale=row.text("locale") or "en-US",
            birth_month=row.integer("birth_month"), birth_day=row.integer("birth_day"),
            birth_year=row.integer("birth_year"), address_line1=row.text("address_line1"),
            address_line2=row.text("address_line2"), city=row.text("city"),
            region=row.text("region"), postal_code=row.text("postal_code"),
            country=row.country("country"), channel=row.text("channel"), ref=row.text("ref"),
            consents=consents, consent_method="import",
        ), now=now)
        ids[member.ref or ""] = member.id

    return _run(engine, name, ordered, problems, dry_run, write)


def import_products(engine: Engine, source: Path | str, *, dry_run: bool = False,
                    now: datetime | None = None) -> ImportReport:
    """Products; prices in currency units (``19.90``), QV and CV in points (``100`` or ``12.5``)."""
    problems: list[Problem] = []
    name = str(source) if isinstance(source, Path) else "products"
    rows = _read(source, PRODUCT_COLUMNS, PRODUCT_REQUIRED, problems)
    seen: dict[str, int] = {}
    parsed: dict[int, NewProduct] = {}
    for row in rows:
        sku = row.text("sku") or ""
        if sku in seen:
            row.bad("sku", f"{sku!r} also on line {seen[sku]}")
        seen[sku] = row.line
        values = [row.money(c) for c in ("retail_price", "wholesale_price", "qv", "cv")]
        for column, value in zip(("retail_price", "wholesale_price"), values[:2], strict=True):
            problem = None if value is None else price_problem(value)
            if problem:
                row.bad(column, problem)
        for column, value in zip(("qv", "cv"), values[2:], strict=True):
            if value is not None and value > MAX_POINTS:
                row.bad(column, f"{format_amount(value)} is above {format_amount(MAX_POINTS)}, "
                                "the most a product may carry")
        pack = row.flag("is_enrollment_pack")
        free = row.flag("volume_when_free")
        most = row.integer("max_quantity", 1, MAX_LINE_QUANTITY)
        if None not in values and row.text("name"):
            r, w, qv, cv = (v or 0 for v in values)
            if w > r:
                row.bad("wholesale_price", "is above retail_price")
            parsed[row.line] = NewProduct(sku, row.text("name") or "", r, w, qv, cv,
                                          bool(pack), row.text("product_line"), bool(free),
                                          most or DEFAULT_MAX_QUANTITY)

    def write(session: Session, row: _Row) -> None:
        add_product(session, parsed[row.line])

    return _run(engine, name, rows, problems, dry_run, write)


def import_orders(engine: Engine, source: Path | str, *, now: datetime,
                  dry_run: bool = False, company_zone: str = DEFAULT_COMPANY_ZONE) -> ImportReport:
    """Orders, one row per line; rows sharing an ``order_key`` make one order (the key is the
    order's idempotency key, so importing the same file twice adds nothing). Each new order is
    dated in the open period and not after ``now`` (see :mod:`patronage.orders.open_period`)."""
    problems: list[Problem] = []
    name = str(source) if isinstance(source, Path) else "orders"
    rows = _read(source, ORDER_COLUMNS, ORDER_REQUIRED, problems)
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        row.time("placed_at")
        row.integer("quantity", 1, MAX_LINE_QUANTITY)
        row.money("unit_price")
        groups.setdefault(row.text("order_key") or "", []).append(row)
    for key, group in groups.items():
        head = group[0]
        for other in group[1:]:
            for column in ("buyer_ref", "placed_at", "source", "currency"):
                if other.text(column) != head.text(column):
                    other.bad(column, f"differs from line {head.line} of order {key!r}")
    _check_against_store(engine, groups, now, company_zone)
    firsts = [g[0] for g in groups.values() if not any(r.failed for r in g)]

    refs: dict[str, int] = {}

    def write(session: Session, head: _Row) -> bool:
        if not refs:
            refs.update(_member_refs(session, [r.text("buyer_ref") or "" for r in rows]))
        buyer_ref = head.text("buyer_ref") or ""
        if buyer_ref not in refs:
            raise PatronageError(f"buyer_ref: no member with ref {buyer_ref!r}")
        placed_at = head.time("placed_at")
        assert placed_at is not None
        group = groups[head.text("order_key") or ""]
        lines = [LineRequest(r.text("sku") or "", r.integer("quantity") or 0, r.money("unit_price"))
                 for r in group]
        try:
            placed = place_order(session, NewOrder(
                refs[buyer_ref], placed_at, lines, source=head.text("source") or "one_time",
                currency=head.text("currency") or "USD",
                idempotency_key=f"import:{head.text('order_key')}",
            ), now=now, company_zone=company_zone)
            return placed.created
        except PatronageError as exc:
            message = str(exc)
            if message.startswith("line "):
                # "line 2: unknown sku" -> the file line of the order's second row.
                number, _, rest = message[5:].partition(":")
                if number.isdigit() and int(number) <= len(group):
                    group[int(number) - 1].bad("sku", rest.strip())
                    raise _Recorded(message) from exc
            raise

    report = _run(engine, name, firsts, problems, dry_run, write)
    return ImportReport("orders", len(rows), report.written, dry_run, report.already)


def _check_against_store(engine: Engine, groups: dict[str, list[_Row]], now: datetime,
                         company_zone: str) -> None:
    """Each new order's lines within the catalog's bounds (quantity, unit price), and its
    ``placed_at`` in the open period and not after ``now``; each problem on its line (orders
    already imported under their key are not placed again)."""
    skus = sorted({row.text("sku") or "" for group in groups.values() for row in group})
    with session_factory(engine)() as session:
        window = open_window(session, now, company_zone=company_zone)
        keys = [f"import:{key}" for key in groups]
        stored: set[str] = set()
        most: dict[str, int] = {}
        for i in range(0, max(len(keys), len(skus)), 500):
            stored.update(k for k in session.scalars(select(Order.idempotency_key).where(
                Order.idempotency_key.in_(keys[i:i + 500]))) if k)
            most.update({sku: limit for sku, limit in session.execute(select(
                Product.sku, Product.max_quantity).where(Product.sku.in_(skus[i:i + 500])))})
    for key, group in groups.items():
        if f"import:{key}" in stored:
            continue
        for row in group:
            moment = _quiet_time(row.text("placed_at"))
            reason = window.problem(moment) if moment is not None else None
            if reason is not None:
                row.bad("placed_at", reason)
            sku, quantity = row.text("sku") or "", _quiet_int(row.text("quantity"))
            if sku in most and quantity is not None:
                reason = quantity_problem(sku, quantity, most[sku])
                if reason is not None:
                    row.bad("quantity", reason)
            price = _quiet_money(row.text("unit_price"))
            reason = None if price is None or price < 0 else price_problem(price)
            if reason is not None:
                row.bad("unit_price", reason)


def _quiet_int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _quiet_money(value: str | None) -> int | None:
    try:
        return parse_amount(value) if value else None
    except PatronageError:
        return None


def _quiet_time(value: str | None) -> datetime | None:
    """An aware ISO time, or ``None`` (a bad one is already recorded against its line)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "members": import_members, "products": import_products, "orders": import_orders,
}


def problems_as_rows(exc: Problems) -> list[dict[str, Any]]:
    return [{"place": p.place, "reason": p.reason} for p in exc.problems]
