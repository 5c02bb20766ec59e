"""CSV import of members, products and orders: all or nothing.

Every row is checked (formats first, then references, then the same integrity rules as any other
entry); a file with problems yields every bad row (the first thousand, the rest counted) with its
line number, column and reason, and nothing is written. ``dry_run`` checks everything and writes
nothing either way. Members and orders files are streamed in chunks and written in bulk, in
memory bounded whatever the file's size (:mod:`patronage.orders.members_import`,
:mod:`patronage.orders.orders_import`); a products file (a catalog) goes through the catalog's
own service row by row. Column formats are documented in docs/imports.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from patronage.clock import DEFAULT_COMPANY_ZONE
from patronage.db.engine import session_factory
from patronage.db.tables import Product
from patronage.errors import PatronageError, Problem, Problems
from patronage.money import format_amount
from patronage.orders.catalog import (
    DEFAULT_MAX_QUANTITY,
    MAX_LINE_QUANTITY,
    MAX_POINTS,
    NewProduct,
    add_product,
    price_problem,
)
from patronage.orders.csv_rows import Findings, read_rows
from patronage.orders.members_import import MEMBER_COLUMNS, import_members_file, parse_int
from patronage.orders.orders_import import (
    ORDER_COLUMNS,
    Progress,
    import_orders_file,
    money_cell,
)

PRODUCT_COLUMNS = ["sku", "name", "retail_price", "wholesale_price", "qv", "cv",
                   "is_enrollment_pack", "product_line", "volume_when_free", "max_quantity"]
PRODUCT_REQUIRED = ["sku", "name", "retail_price", "wholesale_price", "qv", "cv"]
__all__ = ["IMPORTERS", "MEMBER_COLUMNS", "ORDER_COLUMNS", "ImportReport", "import_members",
           "import_orders", "import_products"]


@dataclass
class ImportReport:
    kind: str
    rows: int
    written: int
    dry_run: bool
    #: Records the file holds that were stored before (an orders file imported again).
    already: int = 0


class _Row:
    """One row of a products file with helpers that record problems instead of raising."""

    def __init__(self, line: int, data: dict[str, str | None], problems: list[Problem], *,
                 failed: bool = False) -> None:
        self.line, self.data, self.problems = line, data, problems
        self.failed = failed

    def bad(self, column: str, reason: str) -> None:
        self.failed = True
        self.problems.append(Problem(f"line {self.line}, column {column}", reason))

    def text(self, column: str) -> str | None:
        return self.data.get(column)

    def integer(self, column: str, low: int, high: int) -> int | None:
        value = self.text(column)
        got = None if value is None else parse_int(value, low, high)
        if isinstance(got, str):
            self.bad(column, got)
            return None
        return got

    def money(self, column: str) -> int | None:
        value = self.text(column)
        got = None if value is None else money_cell(value, column)
        if isinstance(got, str):
            self.bad(column, got)
            return None
        return got

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


def _product_limits() -> dict[str, int]:
    table = Product.__table__
    return {c: int(table.c[c].type.length)  # type: ignore[attr-defined]
            for c in ("sku", "name", "product_line")}


def _read(source: Path | str, found: Findings) -> list[_Row]:
    """The rows of a products file (a catalog: small, read whole)."""
    return [_Row(row.line, dict(zip(PRODUCT_COLUMNS, row.cells, strict=True)), found.listed,
                 failed=not row.ok)
            for chunk in read_rows(source, PRODUCT_COLUMNS, PRODUCT_REQUIRED, _product_limits(),
                                   found)
            for row in chunk]


def _fail(name: str, found: Findings) -> Problems:
    return Problems(f"{name}: nothing imported", found.problems())


def _run(engine: Engine, name: str, rows: list[_Row], found: Findings, dry_run: bool,
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
                except PatronageError as exc:
                    row.bad("(row)", str(exc))
            if found.any:
                raise _fail(name, found)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    return ImportReport(name, len(rows), written, dry_run, already)


def import_members(engine: Engine, source: Path | str, *, dry_run: bool = False,
                   now: datetime | None = None, progress: Progress | None = None,
                   company_zone: str = DEFAULT_COMPANY_ZONE) -> ImportReport:
    """Members, referring to each other by ``ref`` (in the file or already stored). ``now``
    bounds join dates and birth years from above (see :mod:`patronage.network.intake`). The
    file is streamed (see :mod:`patronage.orders.members_import`). Distributors are placed by
    the placement rule of the plan in force (``company_zone`` tells its month), when it pays a
    binary bonus."""
    name = str(source) if isinstance(source, Path) else "members"
    count, found = import_members_file(engine, source, name=name, dry_run=dry_run, now=now,
                                       progress=progress, company_zone=company_zone)
    if found.any:
        raise _fail(name, found)
    return ImportReport(name, count, count, dry_run)


def import_products(engine: Engine, source: Path | str, *, dry_run: bool = False,
                    now: datetime | None = None) -> ImportReport:
    """Products; prices in currency units (``19.90``), QV and CV in points (``100`` or ``12.5``)."""
    found = Findings()
    name = str(source) if isinstance(source, Path) else "products"
    rows = _read(source, found)
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

    return _run(engine, name, rows, found, dry_run, write)


def import_orders(engine: Engine, source: Path | str, *, now: datetime,
                  dry_run: bool = False, progress: Progress | None = None,
                  company_zone: str = DEFAULT_COMPANY_ZONE) -> ImportReport:
    """Orders, one row per line; rows sharing an ``order_key`` make one order (the key is the
    order's idempotency key, so importing the same file twice adds nothing). Each new order is
    dated in the open period and not after ``now`` (see :mod:`patronage.orders.open_period`).
    The file is streamed (see :mod:`patronage.orders.orders_import`)."""
    name = str(source) if isinstance(source, Path) else "orders"
    count, new, already, found = import_orders_file(engine, source, now=now, dry_run=dry_run,
                                                    progress=progress, company_zone=company_zone)
    if found.any:
        raise _fail(name, found)
    return ImportReport("orders", count, new, dry_run, already)


IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "members": import_members, "products": import_products, "orders": import_orders,
}


def problems_as_rows(exc: Problems) -> list[dict[str, Any]]:
    return [{"place": p.place, "reason": p.reason} for p in exc.problems]
