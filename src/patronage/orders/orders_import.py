"""Importing an orders file: streamed, checked in chunks, written in bulk, all or nothing.

One row per order line; rows sharing an ``order_key`` make one order, whose idempotency key is
``import:<order_key>``. Each row is checked on its own as it is read (time, quantity, price,
source, currency, the open period) and staged; then in SQL: rows of one order agree on buyer,
time, source and currency (a blank currency agrees with any); an order stored before under its
key is counted as already there (and must be the same order); a new order's buyer exists and may
order, its SKUs exist, quantities are within each product's bound and its total and volume
within the catalog's. With no problem, the orders and their lines are priced and classified as
:func:`patronage.orders.orders.place_order` does, and written by one statement each.

Markets, as :func:`~patronage.orders.orders.place_order` has them: an order is in its buyer's
market (the member's, else the default market of the settings) and that market's currency (a
blank ``currency`` is it; another is refused); each line is priced from the product's price and
volume in that market, and a product without a price there is refused. An explicit
``unit_price`` is in the order's currency: ``1500`` is 1,500 yen in JPY and $1,500.00 in USD.
Since a row's currency may be its buyer's market's, known only in SQL, the price is read with
:data:`PRICE_PLACES` decimal places and staged in those units; the SQL turns it into the
currency's minor units and refuses more decimal places than the currency has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    SmallInteger,
    String,
    select,
)

from patronage.clock import DEFAULT_COMPANY_ZONE
from patronage.db.bulk import copy_payload, copy_stream
from patronage.db.engine import session_factory
from patronage.db.markets import Market
from patronage.db.tables import ORDER_SOURCES, Member, Order, Product
from patronage.errors import PatronageError
from patronage.fastpath.collector import relaxed_collector
from patronage.fastpath.copy_binary import column_types
from patronage.languages import N_
from patronage.markets.core.currencies import check_currency, exponent
from patronage.markets.markets import default_market
from patronage.money import format_amount, parse_amount
from patronage.orders.catalog import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_TOTAL,
    MAX_ORDER_VOLUME,
    MAX_PRICE,
    order_problem,
    quantity_problem,
)
from patronage.orders.csv_rows import CHUNK_ROWS, Findings, Row
from patronage.orders.import_pipe import checked_chunks
from patronage.orders.import_stage import (
    create_stage,
    distinct_sql,
    import_connection,
    index_stage,
    loose_indexes,
    loose_keys,
    restore_indexes,
    restore_keys,
    roomy_sorts,
    rows,
    stage_rows,
)
from patronage.orders.members_import import parse_int, parse_time
from patronage.orders.open_period import OpenWindow, open_window

ORDER_COLUMNS = ["order_key", "buyer_ref", "placed_at", "source", "currency", "sku", "quantity",
                 "unit_price"]
ORDER_REQUIRED = ["order_key", "buyer_ref", "placed_at", "sku", "quantity"]
KEY_PREFIX = "import:"
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: The decimal places a staged ``unit_price`` is read with: the most an ISO 4217 currency has.
PRICE_PLACES = 4
#: A staged price above this is above :data:`MAX_PRICE` minor units in any currency (the SQL
#: names the bound of the order's currency for those below).
_STAGED_MOST = MAX_PRICE * 10 ** (2 * PRICE_PLACES)

Progress = Callable[[str, int], None]


def order_limits() -> dict[str, int]:
    """Each text column's most characters: the orders', members' and products' columns."""
    key: int = Order.__table__.c.idempotency_key.type.length  # type: ignore[attr-defined]
    ref: int = Member.__table__.c.ref.type.length  # type: ignore[attr-defined]
    sku: int = Product.__table__.c.sku.type.length  # type: ignore[attr-defined]
    return {"order_key": key - len(KEY_PREFIX), "buyer_ref": ref, "sku": sku, "source": 16,
            "currency": 3}


def money_cell(value: str, column: str, places: int = 2) -> int | str:
    """An amount in units of ``10**-places`` written like ``19.90``, or why the text is not
    one."""
    if not PLAIN_DECIMAL.fullmatch(value):
        return (f"{value!r} is not a number written like 19.90 (digits 0-9, an optional point "
                "and decimals)")
    try:
        amount = parse_amount(value, place=column, exponent=places)
    except PatronageError as exc:
        return str(exc).split(": ", 1)[-1]
    if amount < 0:
        return f"{value} is negative"
    return amount


class _Checker:
    def __init__(self, found: Findings, window: OpenWindow) -> None:
        self.found, self.window = found, window
        self.currencies: dict[str, tuple[str, str | None]] = {}

    def currency(self, text: str) -> tuple[str, str | None]:
        """The code in upper case and why it is not an ISO 4217 currency (``None``: it is)."""
        known = self.currencies.get(text)
        if known is None:
            try:
                known = check_currency(text, place="currency"), None
            except PatronageError as exc:
                known = text, exc.message.split(": ", 1)[-1]
            if len(self.currencies) < 1_000:
                self.currencies[text] = known
        return known

    def bad(self, row: Row, column: str, reason: str) -> None:
        row.ok = False
        self.found.cell(row.line, column, reason)

    def line(self, row: Row) -> tuple[Any, ...]:
        key, buyer, placed, source, currency, sku, quantity, price = row.cells
        at: datetime | None = None
        outside: str | None = None
        if placed is not None:
            parsed = parse_time(placed)
            if isinstance(parsed, str):
                self.bad(row, "placed_at", parsed)
            else:
                at = parsed
                outside = self.window.problem(at)
        count: int | None = None
        if quantity is not None:
            got = parse_int(quantity, 1, MAX_LINE_QUANTITY)
            if isinstance(got, str):
                self.bad(row, "quantity", got)
            else:
                count = got
        unit: int | None = None
        if price is not None:
            amount = money_cell(price, "unit_price", PRICE_PLACES)
            if isinstance(amount, str):
                self.bad(row, "unit_price", amount)
            elif amount > _STAGED_MOST:  # above the bound in any currency
                self.bad(row, "unit_price", f"{price} is above the highest price accepted")
            else:
                unit = amount
        source = source or "one_time"
        if source not in ORDER_SOURCES:
            self.bad(row, "source", f"{source!r} is not one of {', '.join(ORDER_SOURCES)}")
        if currency is not None:
            currency, problem = self.currency(currency)
            if problem is not None:
                self.bad(row, "currency", problem)
        return (row.line, 1 if row.ok else 0, key, buyer, at, source, currency, sku, count,
                unit, outside)


_STAGED = ["line", "ok", "order_key", "buyer_ref", "placed_at", "source", "currency", "sku",
           "quantity", "unit_price", "outside"]
_S, _K, _M = "_import_orders", "_import_keys", "_import_markets"


def _stage_columns() -> list[Column[Any]]:
    return [
        Column("line", Integer, primary_key=True), Column("ok", SmallInteger),
        Column("order_key", String), Column("buyer_ref", String),
        Column("placed_at", DateTime(timezone=True)), Column("source", String),
        Column("currency", String), Column("sku", String), Column("quantity", Integer),
        Column("unit_price", BigInteger), Column("outside", String),
        Column("product_id", Integer), Column("unit", BigInteger), Column("amount", BigInteger),
        Column("qv", BigInteger), Column("cv", BigInteger), Column("retail_total", BigInteger),
        Column("wholesale_total", BigInteger), Column("volume_kind", String),
        Column("buyer_class", String),
    ]


def _key_columns() -> list[Column[Any]]:
    return [
        Column("order_key", String, primary_key=True), Column("head", Integer),
        Column("order_id", Integer), Column("buyer_id", Integer), Column("buyer_kind", String),
        Column("buyer_status", String), Column("credited_to", Integer),
        Column("market_id", Integer), Column("buyer_ref", String), Column("scale", BigInteger),
    ]


def _market_columns() -> list[Column[Any]]:
    """The markets, each with its currency's decimal places and the divisor turning a staged
    price (:data:`PRICE_PLACES` places) into the currency's minor units."""
    return [
        Column("id", Integer, primary_key=True), Column("code", String),
        Column("currency", String), Column("places", Integer), Column("scale", BigInteger),
    ]


def _stage_markets(conn: Connection) -> dict[int, int]:
    """Stage the markets; returns each one's divisor by id."""
    table = create_stage(conn, _M, _market_columns())
    found = [{"id": i, "code": code, "currency": currency, "places": exponent(currency),
              "scale": 10 ** (PRICE_PLACES - exponent(currency))}
             for i, code, currency in conn.execute(select(Market.id, Market.code,
                                                          Market.currency)).all()]
    if found:
        conn.execute(table.insert(), found)
    return {int(m["id"]): int(m["scale"]) for m in found}


def import_orders_file(engine: Engine, source: Path | str, *, now: datetime, dry_run: bool,
                       progress: Progress | None = None,
                       company_zone: str = DEFAULT_COMPANY_ZONE) -> tuple[int, int, int, Findings]:
    """Check and (unless ``dry_run``) write the orders of ``source``; returns the number of
    rows, of new orders and of orders already stored, and the problems found."""
    found = Findings()
    with session_factory(engine)() as session:
        window = open_window(session, now, company_zone=company_zone)
        # Where a member not placed in a market buys.
        default_id = default_market(session).id
        session.commit()
    checker = _Checker(found, window)
    count = new = already = 0
    with relaxed_collector(), import_connection(engine) as conn, conn.begin() as tx:
        roomy_sorts(conn)
        stage = create_stage(conn, _S, _stage_columns())
        keys = create_stage(conn, _K, _key_columns())
        sqlite = conn.dialect.name == "sqlite"
        types = {} if sqlite else column_types(conn.connection.driver_connection, stage.name)

        def check(chunk: list[Row]) -> Any:
            """A chunk checked and made ready to stage (perhaps in a reading process, see
            :mod:`patronage.orders.import_pipe`): SQLite's columns, PostgreSQL's COPY stream."""
            checked = [checker.line(row) for row in chunk]
            columns: dict[str, Any] = {name: list(values) for name, values in zip(
                _STAGED, zip(*checked, strict=True), strict=True)}
            columns["placed_at"] = np.array(
                [None if v is None else v.astimezone(UTC).replace(tzinfo=None)
                 for v in columns["placed_at"]], dtype="datetime64[us]")
            return columns if sqlite else copy_payload(columns, types)

        for size, ready in checked_chunks(source, ORDER_COLUMNS, ORDER_REQUIRED,
                                          order_limits(), found, check, CHUNK_ROWS):
            if sqlite:
                stage_rows(conn, stage, ready)
            else:
                copy_stream(conn, stage.name, _STAGED, ready)
            count += size
            if progress is not None:
                progress(N_("checking"), count)
        if count:
            if progress is not None:
                progress(N_("checking against the store"), count)
            if conn.dialect.name == "sqlite":
                # The write lock, before the first read of the store: a write committed by
                # another connection between that read and the import's own writes would
                # make the import fail. Other writers wait (up to the busy timeout) instead.
                conn.exec_driver_sql("UPDATE orders SET id = id WHERE 0")
            index_stage(conn, stage, "order_key", analysed=["line", "ok", "order_key", "sku"])
            _keys(conn, default_id, _stage_markets(conn))
            index_stage(conn, keys, "head", analysed=["order_key", "head", "order_id",
                                                      "market_id"])
            _check(conn, found)
            already = int(rows(conn, f"SELECT COUNT(*) FROM {_K} WHERE order_id IS NOT NULL"
                               )[0][0])
            new = int(rows(conn, f"SELECT COUNT(*) FROM {_K} WHERE order_id IS NULL")[0][0])
        if not found.any and new:
            if progress is not None:
                progress(N_("writing"), count)
            # The rows written, about: the file's lines in the proportion of new orders.
            written = count * new // max(new + already, 1)
            loosened = loose_keys(conn, ["orders", "order_lines"], written)
            indexes = loose_indexes(conn, ["orders", "order_lines"], written, loosened)
            _write(conn)
            restore_indexes(conn, indexes)
            restore_keys(conn, loosened)
        if found.any or dry_run:
            tx.rollback()
        else:
            for name in (_S, _K, _M):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
            tx.commit()
    return count, new, already, found


def _record(found: Findings, got: list[tuple[Any, ...]],
            describe: Callable[[tuple[Any, ...]], tuple[str, str]]) -> None:
    for row in got:
        column, reason = describe(row)
        found.cell(int(row[0]), column, reason)


_ROOM = 10_000


def _keys(conn: Connection, default_id: int, scales: dict[int, int]) -> None:
    """One row per order of the file, by one statement: its first line, the order stored
    before under its key, and, for a new order, its buyer (when they exist), the member
    credited, its market and that market's price divisor."""
    market = f"COALESCE(m.market_id, {int(default_id)})"
    cases = " ".join(f"WHEN {int(i)} THEN {int(n)}" for i, n in scales.items())
    scale = f"CASE {market} {cases} END"
    conn.exec_driver_sql(
        f"INSERT INTO {_K} (order_key, head, order_id, buyer_id, buyer_kind, buyer_status, "
        "credited_to, market_id, buyer_ref, scale) SELECT g.order_key, g.head, o.id, m.id, "
        "m.kind, m.status, CASE WHEN m.kind = 'distributor' THEN m.id ELSE m.owner_id END, "
        f"CASE WHEN m.id IS NOT NULL THEN {market} END, "
        "CASE WHEN m.id IS NOT NULL THEN h.buyer_ref END, "
        f"CASE WHEN m.id IS NOT NULL THEN {scale} END "
        f"FROM (SELECT order_key, MIN(line) AS head FROM {_S} WHERE order_key IS NOT NULL "
        f"GROUP BY order_key) g JOIN {_S} h ON h.line = g.head "
        f"LEFT JOIN orders o ON o.idempotency_key = '{KEY_PREFIX}' || g.order_key "
        "LEFT JOIN members m ON m.ref = h.buyer_ref AND o.id IS NULL")


def _check(conn: Connection, found: Findings) -> None:
    differs = distinct_sql(conn)
    agree = ("buyer_ref", "placed_at", "source", "currency")
    # A blank currency is the market's: it agrees with any (a named one is checked against it).
    ops = {c: "<>" if c == "currency" else differs for c in agree}
    flags = ", ".join(f"CASE WHEN s.{c} {ops[c]} h.{c} THEN 1 ELSE 0 END" for c in agree)
    anyone = " OR ".join(f"s.{c} {ops[c]} h.{c}" for c in agree)
    for r in rows(conn, f"SELECT s.line, h.line, s.order_key, {flags} FROM {_S} s JOIN {_K} k "
                        f"ON k.order_key = s.order_key JOIN {_S} h ON h.line = k.head WHERE "
                        f"s.line <> h.line AND ({anyone}) "
                        "ORDER BY s.line", limit=_ROOM):
        for column, flag in zip(agree, r[3:], strict=True):
            if flag:
                found.cell(int(r[0]), column, f"differs from line {r[1]} of order {r[2]!r}")
    _record(found, rows(conn, _CHANGED, limit=_ROOM), lambda r: (
        "(row)", f"idempotency key '{KEY_PREFIX}{r[1]}' was used for a different order "
                 f"({r[2]})"))
    new = f"JOIN {_K} k ON k.order_key = s.order_key AND k.order_id IS NULL AND s.ok = 1"
    _record(found, rows(conn, f"SELECT s.line, s.outside FROM {_S} s {new} WHERE s.outside IS "
                              "NOT NULL ORDER BY s.line", limit=_ROOM),
            lambda r: ("placed_at", str(r[1])))
    _record(found, rows(conn, f"SELECT k.head, h.buyer_ref, k.buyer_status FROM {_K} k JOIN "
                              f"{_S} h ON h.line = k.head WHERE k.order_id IS NULL AND "
                              "h.buyer_ref IS NOT NULL AND (k.buyer_id IS NULL OR "
                              "k.buyer_status IN ('terminated', 'erased')) ORDER BY k.head",
                        limit=_ROOM),
            lambda r: ("(row)", f"buyer_ref: no member with ref {r[1]!r}" if r[2] is None
                       else f"buyer_ref: {r[1]!r} is {r[2]} and cannot order"))
    _record(found, rows(conn, f"SELECT s.line, s.sku FROM {_S} s {new} WHERE s.sku IS NOT NULL "
                              "AND NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = s.sku) "
                              "ORDER BY s.line", limit=_ROOM),
            lambda r: ("sku", f"unknown sku {r[1]!r}"))
    _record(found, rows(conn, f"SELECT s.line, s.sku, s.quantity, p.max_quantity FROM {_S} s "
                              f"{new} JOIN products p ON p.sku = s.sku WHERE s.quantity > "
                              "p.max_quantity ORDER BY s.line", limit=_ROOM),
            lambda r: ("quantity", quantity_problem(r[1], r[2], r[3]) or ""))
    _check_markets(conn, found, new)
    if found.any:
        return
    unit = (f"COALESCE({_S}.unit_price / k.scale, CASE WHEN k.buyer_kind = 'retail' THEN "
            "pp.retail_price ELSE pp.wholesale_price END)")
    volume = (f"CASE WHEN {unit} = 0 AND NOT p.volume_when_free THEN 0 "
              "ELSE pp.{0} * quantity END")
    conn.exec_driver_sql(
        f"UPDATE {_S} SET product_id = p.id, unit = {unit}, amount = {unit} * quantity, "
        f"qv = {volume.format('qv')}, cv = {volume.format('cv')}, "
        "retail_total = pp.retail_price * quantity, "
        "wholesale_total = pp.wholesale_price * quantity, "
        "volume_kind = CASE WHEN p.is_enrollment_pack THEN 'promotional' "
        "ELSE 'consumption' END, buyer_class = CASE WHEN k.buyer_kind = 'distributor' "
        f"THEN 'distributor' ELSE 'customer' END FROM {_K} k, products p, "
        f"product_prices pp WHERE k.order_key = {_S}.order_key AND k.order_id IS NULL AND "
        f"p.sku = {_S}.sku AND pp.product_id = p.id AND "
        "pp.market_id = k.market_id")
    _record(found, rows(conn, f"SELECT k.head, k.order_key, SUM(s.amount), SUM(s.qv), "
                              f"SUM(s.cv) FROM {_S} s {new} GROUP BY k.head, k.order_key "
                              f"HAVING SUM(s.amount) > {MAX_ORDER_TOTAL} OR SUM(s.qv) > "
                              f"{MAX_ORDER_VOLUME} OR SUM(s.cv) > {MAX_ORDER_VOLUME} "
                              "ORDER BY k.head", limit=_ROOM),
            lambda r: ("(row)", f"order '{KEY_PREFIX}{r[1]}': "
                                f"{order_problem(int(r[2]), int(r[3]), int(r[4]))}"))


def _check_markets(conn: Connection, found: Findings, new: str) -> None:
    """Each new order's lines against its buyer's market: the currency, the decimal places and
    bound of an explicit unit price, and a price of each product there."""
    market = f"JOIN {_M} mk ON mk.id = k.market_id"
    for r in rows(conn, f"SELECT s.line, s.currency, k.buyer_ref, mk.code, mk.currency, s.sku, "
                        "CASE WHEN s.currency <> mk.currency THEN 1 ELSE 0 END, "
                        "CASE WHEN p.id IS NOT NULL AND pp.id IS NULL THEN 1 ELSE 0 END "
                        f"FROM {_S} s {new} {market} LEFT JOIN products p ON p.sku = s.sku "
                        "LEFT JOIN product_prices pp ON pp.product_id = p.id AND "
                        "pp.market_id = k.market_id WHERE s.currency <> mk.currency OR "
                        "(p.id IS NOT NULL AND pp.id IS NULL) ORDER BY s.line", limit=_ROOM):
        line, currency, buyer, code, market_currency, sku, other_currency, no_price = r
        if other_currency:
            found.cell(int(line), "currency", f"{currency} is not the currency of buyer "
                                              f"{buyer}'s market {code} ({market_currency})")
        if no_price:
            found.cell(int(line), "sku", f"product {sku!r} has no price in buyer {buyer}'s "
                                         f"market {code}")
    _record(found, rows(conn, f"SELECT s.line, s.unit_price, mk.currency, mk.places, "
                              f"s.unit_price / k.scale FROM {_S} s {new} {market} "
                              "WHERE s.unit_price IS NOT NULL AND (s.unit_price % k.scale <> 0 "
                              f"OR s.unit_price / k.scale > {MAX_PRICE}) ORDER BY s.line",
                        limit=_ROOM),
            lambda r: ("unit_price", _price_reason(int(r[1]), str(r[2]), int(r[3]), int(r[4]))))


def _price_reason(staged: int, currency: str, places: int, minor: int) -> str:
    """Why a unit price (staged with :data:`PRICE_PLACES` places) is refused in ``currency``."""
    written = format_amount(staged, PRICE_PLACES).rstrip("0").rstrip(".")
    if minor > MAX_PRICE:
        return f"{written} is above {format_amount(MAX_PRICE, places)}, the highest price accepted"
    return f"{written} has more than {places} decimal places for {currency}"


#: Orders stored before under a key of the file, with other lines or another buyer.
_CHANGED = f"""
SELECT k.head, k.order_key, k.order_id FROM {_K} k
JOIN orders o ON o.id = k.order_id JOIN {_S} h ON h.line = k.head
LEFT JOIN members m ON m.ref = h.buyer_ref
WHERE k.order_id IS NOT NULL AND (m.id IS NULL OR m.id <> o.buyer_id OR k.order_key IN (
  SELECT d.order_key FROM (
    SELECT a.order_key, a.sku, a.quantity, a.n FROM (
      SELECT s.order_key, s.sku, s.quantity, COUNT(*) AS n FROM {_S} s JOIN {_K} k2
      ON k2.order_key = s.order_key AND k2.order_id IS NOT NULL
      GROUP BY s.order_key, s.sku, s.quantity) a
    EXCEPT
    SELECT b.order_key, b.sku, b.quantity, b.n FROM (
      SELECT k3.order_key, p.sku, l.quantity, COUNT(*) AS n FROM {_K} k3
      JOIN order_lines l ON l.order_id = k3.order_id JOIN products p ON p.id = l.product_id
      GROUP BY k3.order_key, p.sku, l.quantity) b
  ) d
  UNION
  SELECT e.order_key FROM (
    SELECT b.order_key, b.sku, b.quantity, b.n FROM (
      SELECT k3.order_key, p.sku, l.quantity, COUNT(*) AS n FROM {_K} k3
      JOIN order_lines l ON l.order_id = k3.order_id JOIN products p ON p.id = l.product_id
      GROUP BY k3.order_key, p.sku, l.quantity) b
    EXCEPT
    SELECT a.order_key, a.sku, a.quantity, a.n FROM (
      SELECT s.order_key, s.sku, s.quantity, COUNT(*) AS n FROM {_S} s JOIN {_K} k2
      ON k2.order_key = s.order_key AND k2.order_id IS NOT NULL
      GROUP BY s.order_key, s.sku, s.quantity) a
  ) e))
ORDER BY k.head"""


def _write(conn: Connection) -> None:
    conn.exec_driver_sql(
        "INSERT INTO orders (buyer_id, credited_to_id, placed_at, currency, source, status, "
        f"total, idempotency_key) SELECT k.buyer_id, k.credited_to, h.placed_at, mk.currency, "
        f"h.source, 'paid', t.total, '{KEY_PREFIX}' || k.order_key FROM {_K} k "
        f"JOIN {_S} h ON h.line = k.head JOIN {_M} mk ON mk.id = k.market_id "
        "JOIN (SELECT order_key, SUM(amount) AS total "
        f"FROM {_S} GROUP BY order_key) t ON t.order_key = k.order_key "
        "WHERE k.order_id IS NULL ORDER BY k.head")
    conn.exec_driver_sql(
        "INSERT INTO order_lines (order_id, product_id, quantity, unit_price, amount, qv, cv, "
        "retail_total, wholesale_total, volume_kind, buyer_class) SELECT o.id, s.product_id, "
        "s.quantity, s.unit, s.amount, s.qv, s.cv, s.retail_total, s.wholesale_total, "
        f"s.volume_kind, s.buyer_class FROM {_S} s JOIN {_K} k ON k.order_key = s.order_key "
        f"JOIN orders o ON o.idempotency_key = '{KEY_PREFIX}' || s.order_key "
        "WHERE k.order_id IS NULL ORDER BY s.line")
