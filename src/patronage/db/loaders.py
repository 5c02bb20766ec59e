"""Bulk loaders: the genealogy and a period's order lines as numpy arrays.

Every query returns integers only (text codes mapped in SQL, times as unix seconds, missing ids as
-1) and is read on the raw DB-API cursor straight into a numpy matrix: no ORM object, no Python
object per value beyond the driver's tuples. The genealogy is read *as of* an instant: members
who joined later are left out, and sponsor/owner/kind moves effective later are undone from the
genealogy change records.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from patronage.arrays import Matrix, index_of
from patronage.facts import (
    KIND_CODES,
    KIND_DISTRIBUTOR,
    SOURCE_CODES,
    STATUS_CODES,
    Genealogy,
    OrderLines,
    PeriodFacts,
    RefundLines,
)
from patronage.fastpath import forked
from patronage.fastpath.packed import (
    CHAR_BITS,
    ID_BITS,
    Word,
    first_letter,
    fits,
    letter_codes,
    select,
    unpack,
    width,
)
from patronage.fastpath.reads import integer_matrix as integer_matrix  # the door's reader
from patronage.network.core.genealogy import build


def bound_time(conn: Connection, moment: datetime) -> Any:
    """A bound value comparable with stored times on this dialect."""
    moment = moment.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def epoch_sql(conn: Connection, column: str) -> str:
    """SQL for a stored time as whole unix seconds, the fraction cut off on both databases.

    PostgreSQL: ``date_part`` (a double: exact to well under a microsecond for these dates,
    and much cheaper than ``EXTRACT``'s numeric). SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff``
    in UTC; its date functions round to milliseconds, so the fraction is cut off as text first,
    then ``unixepoch`` (3.38) or ``strftime('%s')`` reads the rest."""
    if conn.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info >= (3, 38, 0):
            return f"unixepoch(substr({column}, 1, 19))"
        return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
    return f"CAST(floor(date_part('epoch', {column})) AS BIGINT)"


def day_sql(conn: Connection, column: str) -> str:
    """SQL for a stored date as days since 1970-01-01 (SQLite stores ``YYYY-MM-DD``)."""
    if conn.dialect.name == "sqlite":
        return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
    return f"({column} - DATE '1970-01-01')"


def letters_sql(conn: Connection, column: str) -> str:
    """SQL for a code of up to two letters (a market) as one integer (``-1``: NULL), read
    back by :func:`letters`: the first letter's code point times 2**21, plus the second's."""
    first = first_letter(conn, f"substr({column}, 1, 1)")
    second = first_letter(conn, f"NULLIF(substr({column}, 2, 1), '')")
    return f"COALESCE({first} * 2097152 + COALESCE({second}, 0), -1)"


def letters(value: int) -> str | None:
    """The code :func:`letters_sql` read as ``value``."""
    if value < 0:
        return None
    first, second = value >> 21, value & (2**21 - 1)
    return chr(first) + (chr(second) if second else "")


def code_case(column: str, codes: dict[str, int]) -> str:
    """SQL mapping a text column to the small integer codes used in the arrays."""
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in codes.items())
    return f"CASE {column} {whens} ELSE -1 END"


def sorted_by_first(m: Matrix) -> Matrix:
    """Rows ordered by their first column (ids), sorted here rather than by the database."""
    if m.shape[0] and (np.diff(m[:, 0]) < 0).any():
        return m[np.argsort(m[:, 0], kind="stable")]
    return m


# -- reading many rows as few values (patronage.fastpath.packed) ----------------------------


def _largest_ids(conn: Connection) -> tuple[int, ...]:
    top = conn.exec_driver_sql(
        "SELECT (SELECT MAX(id) FROM members), (SELECT MAX(id) FROM orders), "
        "(SELECT MAX(id) FROM order_lines), (SELECT MAX(id) FROM products)").one()
    return tuple(int(v or 0) for v in top)


def _can_pack(conn: Connection, ids: tuple[int, ...] | None = None) -> bool:
    """Whether every id a packed read holds (``ids``: the largest ones) fits its field."""
    return fits(ids or _largest_ids(conn))


_KIND_BY_LETTER = letter_codes(KIND_CODES)
_STATUS_BY_LETTER = letter_codes(STATUS_CODES)
_SOURCE_BY_LETTER = letter_codes(SOURCE_CODES)
_VOLUME_BY_LETTER = letter_codes({"consumption": 0, "promotional": 1})
_BUYER_BY_LETTER = letter_codes({"distributor": 0, "customer": 1})


def _genealogy_words(conn: Connection) -> list[Word]:
    letter = first_letter
    return [
        Word((("id", ID_BITS), ("COALESCE(sponsor_id, -1) + 1", ID_BITS))),
        Word((("COALESCE(owner_id, -1) + 1", ID_BITS),
               ("COALESCE(referrer_id, -1) + 1", ID_BITS))),
        Word(((epoch_sql(conn, "joined_at"), 0), (letter(conn, "kind"), CHAR_BITS),
               (letter(conn, "status"), CHAR_BITS))),
    ]


def _genealogy_query(conn: Connection, as_of: datetime,
                     packed: bool) -> tuple[str, dict[str, Any], int]:
    words = _genealogy_words(conn)
    return (f"SELECT {select(words, packed)} FROM members WHERE joined_at < :t",
            {"t": bound_time(conn, as_of)},
            width(words, packed))


def _later_changes(conn: Connection, as_of: datetime) -> list[Any]:
    """Genealogy changes effective at or after ``as_of``, newest first."""
    return list(conn.exec_driver_sql(
        "SELECT member_id, field, old_value FROM genealogy_changes "
        + ("WHERE effective_at >= ? " if conn.dialect.name == "sqlite"
           else "WHERE effective_at >= %(t)s ")
        + "ORDER BY effective_at DESC, id DESC",
        (bound_time(conn, as_of),) if conn.dialect.name == "sqlite"
        else {"t": bound_time(conn, as_of)},
    ).all())


def _build_genealogy(m: Matrix, changes: list[Any], packed: bool,
                     words: list[Word]) -> Genealogy:
    (member_id, sponsor_id, owner_id, referrer_id, joined_at, kind_letter,
     status_letter) = unpack(m, words, packed)
    order = np.argsort(member_id, kind="stable") if (np.diff(member_id) < 0).any() else None
    if order is not None:
        member_id, sponsor_id, owner_id, referrer_id, joined_at, kind_letter, status_letter = (
            a[order] for a in (member_id, sponsor_id, owner_id, referrer_id, joined_at,
                               kind_letter, status_letter))
    sponsor_id, owner_id, referrer_id = sponsor_id - 1, owner_id - 1, referrer_id - 1
    kind = _KIND_BY_LETTER[kind_letter].astype(np.int8)
    status = _STATUS_BY_LETTER[status_letter].astype(np.int8)
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
    referrer = index_of(member_id, referrer_id)
    parent = np.where(kind == KIND_DISTRIBUTOR, sponsor, owner)
    return build(member_id, parent, sponsor=sponsor, owner=owner, referrer=referrer, kind=kind,
                 status=status, joined_at=joined_at)


def load_genealogy(conn: Connection, as_of: datetime) -> Genealogy:
    """The tree as of ``as_of`` (exclusive): members joined before it, moves undone after it."""
    packed = _can_pack(conn)
    m = integer_matrix(conn, *_genealogy_query(conn, as_of, packed))
    return _build_genealogy(m, _later_changes(conn, as_of), packed, _genealogy_words(conn))


def _lines_words(conn: Connection) -> list[Word]:
    letter = first_letter
    return [
        Word((("l.id", ID_BITS), ("o.id", ID_BITS))),
        Word((("o.buyer_id", ID_BITS), ("COALESCE(o.credited_to_id, -1) + 1", ID_BITS))),
        Word(((epoch_sql(conn, "o.placed_at"), 0), (letter(conn, "o.source"), CHAR_BITS),
               (letter(conn, "l.volume_kind"), CHAR_BITS),
               (letter(conn, "l.buyer_class"), CHAR_BITS))),
        *(Word(((column, 0),)) for column in (
            "l.product_id", "l.qv", "l.cv", "l.amount", "l.retail_total", "l.wholesale_total")),
    ]


def _lines_query(conn: Connection, start: datetime, end: datetime, packed: bool,
                 part: str = "") -> tuple[str, dict[str, Any], int]:
    """The paid lines placed in ``[start, end)`` (``part``: a further condition on them)."""
    words = _lines_words(conn)
    return ((f"SELECT {select(words, packed)} FROM order_lines l JOIN orders o "
             "ON o.id = l.order_id "
             f"WHERE o.placed_at >= :s AND o.placed_at < :e AND o.status = 'paid'{part}"),
            {"s": bound_time(conn, start), "e": bound_time(conn, end)},
            width(words, packed))


def _lines_matrix(conn: Connection, start: datetime, end: datetime, packed: bool) -> Matrix:
    return integer_matrix(conn, *_lines_query(conn, start, end, packed))


def _build_lines(genealogy: Genealogy, m: Matrix, packed: bool,
                 words: list[Word]) -> OrderLines:
    (line_id, order_id, buyer, credited, placed_at, source, volume_kind, buyer_class, product,
     qv, cv, amount, retail, wholesale) = unpack(m, words, packed)
    if (np.diff(line_id) < 0).any():
        order = np.argsort(line_id, kind="stable")
        (line_id, order_id, buyer, credited, placed_at, source, volume_kind, buyer_class,
         product, qv, cv, amount, retail, wholesale) = (a[order] for a in (
            line_id, order_id, buyer, credited, placed_at, source, volume_kind, buyer_class,
            product, qv, cv, amount, retail, wholesale))
    return OrderLines(
        line_id=line_id, order_id=order_id,
        buyer=index_of(genealogy.member_id, buyer),
        credited_to=index_of(genealogy.member_id, credited - 1),
        product_id=product, placed_at=placed_at,
        source=_SOURCE_BY_LETTER[source].astype(np.int8),
        promotional=_VOLUME_BY_LETTER[volume_kind] == 1,
        customer_purchase=_BUYER_BY_LETTER[buyer_class] == 1,
        qv=qv, cv=cv, amount=amount, retail_total=retail, wholesale_total=wholesale,
    )


def load_lines(
    conn: Connection, genealogy: Genealogy, start: datetime, end: datetime
) -> OrderLines:
    """Paid order lines placed in ``[start, end)``."""
    packed = _can_pack(conn)
    return _build_lines(genealogy, _lines_matrix(conn, start, end, packed), packed,
                        _lines_words(conn))


def _refunds_matrix(conn: Connection, start: datetime, end: datetime) -> Matrix:
    m = integer_matrix(conn, (
        "SELECT rl.id, rl.order_line_id, o.id, o.buyer_id, COALESCE(o.credited_to_id, -1), "
        f"{epoch_sql(conn, 'r.refunded_at')}, {epoch_sql(conn, 'o.placed_at')}, "
        "CASE l.volume_kind WHEN 'promotional' THEN 1 ELSE 0 END, "
        "CASE l.buyer_class WHEN 'customer' THEN 1 ELSE 0 END, rl.qv, rl.cv, rl.amount "
        "FROM refund_lines rl JOIN refunds r ON r.id = rl.refund_id "
        "JOIN order_lines l ON l.id = rl.order_line_id JOIN orders o ON o.id = l.order_id "
        "WHERE r.refunded_at >= :s AND r.refunded_at < :e"
    ), {"s": bound_time(conn, start), "e": bound_time(conn, end)}, 12)
    return sorted_by_first(m)


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


#: From this many members on, on a SQLite file, a second process reads the genealogy and part
#: of the order lines while this one reads the rest (:mod:`patronage.fastpath.forked`).
PARALLEL_FROM = 200_000


def load_period_facts(engine: Engine, start: datetime, end: datetime, label: str, *,
                      parallel: bool | None = None) -> PeriodFacts:
    """Genealogy as of ``end`` and the order and refund lines in ``[start, end)``.

    ``parallel`` (default: on a SQLite file of :data:`PARALLEL_FROM` members or more, where a
    second process can be forked safely) reads the genealogy and a third of the lines in a
    second process. The reads then see the database each at its own moment, as two statements
    on one connection do."""
    with engine.connect() as conn:
        ids = _largest_ids(conn)
        packed = _can_pack(conn, ids)
        if parallel is None:
            parallel = (ids[0] >= PARALLEL_FROM and forked.sqlite_file(engine)
                        and forked.can_fork())
        query = _genealogy_query(conn, end, packed)
        if parallel:
            # The worker reads the genealogy and a third of the lines, this process the rest
            # of the lines: about as long as each other.
            (genealogy_m, third), ours = forked.beside(
                engine, [query, _lines_query(conn, start, end, packed, " AND l.id % 3 = 0")],
                lambda: integer_matrix(conn, *_lines_query(conn, start, end, packed,
                                                           " AND l.id % 3 <> 0")))
            lines_m = np.concatenate([third, ours])
        else:
            genealogy_m = integer_matrix(conn, *query)
            lines_m = _lines_matrix(conn, start, end, packed)
        genealogy = _build_genealogy(genealogy_m, _later_changes(conn, end), packed,
                                     _genealogy_words(conn))
        lines = _build_lines(genealogy, lines_m, packed, _lines_words(conn))
        refunds = load_refunds(conn, genealogy, start, end)
    return PeriodFacts(label=label, start=int(start.timestamp()), end=int(end.timestamp()),
                       genealogy=genealogy, lines=lines, refunds=refunds)
