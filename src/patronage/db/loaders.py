"""Bulk loaders: the genealogy and a period's order lines as numpy arrays.

Every query returns integers only (text codes mapped in SQL, times as unix seconds, missing ids as
-1) and is read on the raw DB-API cursor straight into a numpy matrix: no ORM object, no Python
object per value beyond the driver's tuples. The genealogy is read *as of* an instant: members
who joined later are left out, and sponsor/owner/kind moves effective later are undone from the
genealogy change records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from patronage.facts import (
    KIND_CODES,
    KIND_DISTRIBUTOR,
    SOURCE_CODES,
    STATUS_CODES,
    Genealogy,
    OrderLines,
    PeriodFacts,
    RefundLines,
    index_of,
)
from patronage.network.genealogy import build

Matrix = np.ndarray[Any, np.dtype[np.int64]]


def _ts(conn: Connection, moment: datetime) -> Any:
    """A bound value comparable with stored times on this dialect."""
    moment = moment.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def _epoch(conn: Connection, column: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _case(column: str, codes: dict[str, int]) -> str:
    """SQL mapping a text column to the small integer codes used in the arrays."""
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in codes.items())
    return f"CASE {column} {whens} ELSE -1 END"


def _matrix(conn: Connection, sql: str, params: dict[str, Any], width: int) -> Matrix:
    """Run an all-integer query on the raw DB-API cursor: an ``(n, width)`` int64 matrix.

    ``sql`` names its parameters ``:name``. On PostgreSQL the result comes as one binary COPY
    stream decoded by numpy in place; on SQLite from the cursor's tuples.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        return _copy_matrix(raw, sql, params, width)
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return np.zeros((0, width), dtype=np.int64)
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width)
    return flat.reshape(-1, width)


_COPY_HEADER = 19  # signature (11 bytes), flags (4), header extension length (4)


def _copy_matrix(raw: Any, sql: str, params: dict[str, Any], width: int) -> Matrix:
    """PostgreSQL: ``COPY (query) TO STDOUT (FORMAT BINARY)`` with every column cast to int8, so
    each row is a field count then ``width`` (length, value) pairs of fixed size, read as one
    structured numpy array. A NULL would change a row's size: the queries map NULLs in SQL, and a
    stray one is refused here rather than misread."""
    from psycopg.sql import Literal

    for name, value in params.items():
        sql = sql.replace(f":{name}", Literal(value).as_string(raw))
    names = ", ".join(f"c{i}" for i in range(width))
    casts = ", ".join(f"q.c{i}::int8" for i in range(width))
    statement = f"COPY (SELECT {casts} FROM ({sql}) AS q({names})) TO STDOUT (FORMAT BINARY)"
    buffer = bytearray()
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buffer += block
    body = memoryview(buffer)[_COPY_HEADER:len(buffer) - 2]  # trailer: int16 -1
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(width):
        fields += [(f"size{i}", ">i4"), (f"value{i}", ">i8")]
    rows = np.frombuffer(body, dtype=np.dtype(fields))
    if rows.size and ((rows["count"] != width).any()
                      or any((rows[f"size{i}"] != 8).any() for i in range(width))):
        raise ValueError("a bulk query returned NULL or a non-integer column")
    out = np.empty((rows.size, width), dtype=np.int64)
    for i in range(width):
        out[:, i] = rows[f"value{i}"]
    return out


def _sorted_by_first(m: Matrix) -> Matrix:
    """Rows ordered by their first column (ids), sorted here rather than by the database."""
    if m.shape[0] and (np.diff(m[:, 0]) < 0).any():
        return m[np.argsort(m[:, 0], kind="stable")]
    return m


def _genealogy_matrix(conn: Connection, as_of: datetime) -> tuple[Matrix, list[Any]]:
    m = _matrix(conn, (
        f"SELECT id, {_case('kind', KIND_CODES)}, {_case('status', STATUS_CODES)}, "
        "COALESCE(sponsor_id, -1), COALESCE(owner_id, -1), COALESCE(referrer_id, -1), "
        f"{_epoch(conn, 'joined_at')} FROM members WHERE joined_at < :t ORDER BY id"
    ), {"t": _ts(conn, as_of)}, 7)
    changes = conn.exec_driver_sql(
        "SELECT member_id, field, old_value FROM genealogy_changes "
        + ("WHERE effective_at >= ? " if conn.dialect.name == "sqlite"
           else "WHERE effective_at >= %(t)s ")
        + "ORDER BY effective_at DESC, id DESC",
        (_ts(conn, as_of),) if conn.dialect.name == "sqlite" else {"t": _ts(conn, as_of)},
    ).all()
    return m, list(changes)


def _build_genealogy(m: Matrix, changes: list[Any]) -> Genealogy:
    member_id = m[:, 0].copy()
    kind = m[:, 1].astype(np.int8)
    sponsor_id, owner_id = m[:, 3].copy(), m[:, 4].copy()
    if changes:
        # Undo later moves, newest first: few rows, so a plain loop over the changes.
        position = index_of(member_id, np.array([c[0] for c in changes], dtype=np.int64))
        for (_, field_name, old), i in zip(changes, position.tolist(), strict=True):
            if i < 0:
                continue
            if field_name == "sponsor":
                sponsor_id[i] = -1 if old is None else int(old)
            elif field_name == "owner":
                owner_id[i] = -1 if old is None else int(old)
            elif field_name == "kind" and old is not None:
                kind[i] = KIND_CODES[old]

    sponsor = index_of(member_id, sponsor_id)
    owner = index_of(member_id, owner_id)
    referrer = index_of(member_id, m[:, 5])
    parent = np.where(kind == KIND_DISTRIBUTOR, sponsor, owner)
    return build(member_id, parent, sponsor=sponsor, owner=owner, referrer=referrer, kind=kind,
                 status=m[:, 2].astype(np.int8), joined_at=m[:, 6].copy())


def load_genealogy(conn: Connection, as_of: datetime) -> Genealogy:
    """The tree as of ``as_of`` (exclusive): members joined before it, moves undone after it."""
    return _build_genealogy(*_genealogy_matrix(conn, as_of))


def _lines_matrix(conn: Connection, start: datetime, end: datetime) -> Matrix:
    m = _matrix(conn, (
        "SELECT l.id, o.id, o.buyer_id, COALESCE(o.credited_to_id, -1), l.product_id, "
        f"{_epoch(conn, 'o.placed_at')}, {_case('o.source', SOURCE_CODES)}, "
        "CASE l.volume_kind WHEN 'promotional' THEN 1 ELSE 0 END, "
        "CASE l.buyer_class WHEN 'customer' THEN 1 ELSE 0 END, "
        "l.qv, l.cv, l.amount, l.retail_total, l.wholesale_total "
        "FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.placed_at >= :s AND o.placed_at < :e AND o.status = 'paid'"
    ), {"s": _ts(conn, start), "e": _ts(conn, end)}, 14)
    return _sorted_by_first(m)


def _build_lines(genealogy: Genealogy, m: Matrix) -> OrderLines:
    return OrderLines(
        line_id=m[:, 0].copy(), order_id=m[:, 1].copy(),
        buyer=index_of(genealogy.member_id, m[:, 2]),
        credited_to=index_of(genealogy.member_id, m[:, 3]),
        product_id=m[:, 4].copy(), placed_at=m[:, 5].copy(), source=m[:, 6].astype(np.int8),
        promotional=m[:, 7] == 1, customer_purchase=m[:, 8] == 1,
        qv=m[:, 9].copy(), cv=m[:, 10].copy(), amount=m[:, 11].copy(),
        retail_total=m[:, 12].copy(), wholesale_total=m[:, 13].copy(),
    )


def load_lines(
    conn: Connection, genealogy: Genealogy, start: datetime, end: datetime
) -> OrderLines:
    """Paid order lines placed in ``[start, end)``."""
    return _build_lines(genealogy, _lines_matrix(conn, start, end))


def _refunds_matrix(conn: Connection, start: datetime, end: datetime) -> Matrix:
    m = _matrix(conn, (
        "SELECT rl.id, rl.order_line_id, o.id, o.buyer_id, COALESCE(o.credited_to_id, -1), "
        f"{_epoch(conn, 'r.refunded_at')}, {_epoch(conn, 'o.placed_at')}, "
        "CASE l.volume_kind WHEN 'promotional' THEN 1 ELSE 0 END, "
        "CASE l.buyer_class WHEN 'customer' THEN 1 ELSE 0 END, rl.qv, rl.cv, rl.amount "
        "FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id "
        "JOIN order_lines l ON l.id = rl.order_line_id JOIN orders o ON o.id = l.order_id "
        "WHERE r.refunded_at >= :s AND r.refunded_at < :e"
    ), {"s": _ts(conn, start), "e": _ts(conn, end)}, 12)
    return _sorted_by_first(m)


def _build_refunds(genealogy: Genealogy, m: Matrix) -> RefundLines:
    return RefundLines(
        refund_line_id=m[:, 0].copy(), order_line_id=m[:, 1].copy(), order_id=m[:, 2].copy(),
        buyer=index_of(genealogy.member_id, m[:, 3]),
        credited_to=index_of(genealogy.member_id, m[:, 4]),
        refunded_at=m[:, 5].copy(), order_placed_at=m[:, 6].copy(),
        promotional=m[:, 7] == 1, customer_purchase=m[:, 8] == 1,
        qv=m[:, 9].copy(), cv=m[:, 10].copy(), amount=m[:, 11].copy(),
    )


def load_refunds(
    conn: Connection, genealogy: Genealogy, start: datetime, end: datetime
) -> RefundLines:
    """Refund lines recorded in ``[start, end)``, whenever their orders were placed."""
    return _build_refunds(genealogy, _refunds_matrix(conn, start, end))


def load_period_facts(engine: Engine, start: datetime, end: datetime, label: str) -> PeriodFacts:
    """Genealogy as of ``end`` and the order and refund lines in ``[start, end)``."""
    with engine.connect() as conn:
        genealogy = load_genealogy(conn, end)
        lines = load_lines(conn, genealogy, start, end)
        refunds = load_refunds(conn, genealogy, start, end)
    return PeriodFacts(label=label, start=int(start.timestamp()), end=int(end.timestamp()),
                       genealogy=genealogy, lines=lines, refunds=refunds)
