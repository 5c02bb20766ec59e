"""All-integer queries read straight into numpy: no ORM object, no Python object per value on
PostgreSQL.

:func:`integer_matrix` runs a query whose columns are all integers. On PostgreSQL it is wrapped
in ``COPY (query) TO STDOUT (FORMAT BINARY)`` with every column cast to ``int8``, so each row is
a field count then ``width`` (length, value) pairs of fixed size, read as one structured numpy
array. On SQLite the driver's tuples are flattened by ``numpy.fromiter``.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from patronage.arrays import Matrix

_COPY_HEADER = 19  # signature (11 bytes), flags (4), header extension length (4)
_COPY_TRAILER = 2  # int16 -1
_NOT_INTEGERS = ("an integer read (COPY … FORMAT BINARY) returned NULL or a non-integer column: "
                 "the query must map NULLs to numbers in SQL")


def integer_matrix(conn: Connection, sql: str, params: dict[str, Any], width: int) -> Matrix:
    """Run an all-integer query on the raw DB-API cursor: an ``(n, width)`` int64 matrix.

    ``sql`` names its parameters ``:name`` (as SQLAlchemy's ``text`` does; not inside quoted
    text). The driver binds them: sqlite3 natively, psycopg in the COPY statement it sends.
    """
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("integer_matrix: the connection has no driver connection (closed?)")
    if conn.dialect.name == "postgresql":
        # SQLAlchemy's compiler turns ``:name`` into psycopg's ``%(name)s`` (and a literal ``%``
        # into ``%%``), which psycopg merges into the COPY statement; without parameters psycopg
        # sends the text as it is.
        statement = text(sql).compile(dialect=conn.dialect).string if params else sql
        return _copy_matrix(raw, statement, params or None, width)
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


def _copy_matrix(raw: Any, sql: str, params: dict[str, Any] | None, width: int) -> Matrix:
    """PostgreSQL: ``sql`` (psycopg placeholders, ``%(name)s``) as one binary COPY stream read
    in place. A NULL would change a row's size: the queries map NULLs in SQL, and a stray one is
    refused here rather than misread."""
    names = ", ".join(f"c{i}" for i in range(width))
    casts = ", ".join(f"q.c{i}::int8" for i in range(width))
    statement = f"COPY (SELECT {casts} FROM ({sql}) AS q({names})) TO STDOUT (FORMAT BINARY)"
    buffer = bytearray()
    with raw.cursor() as cursor, cursor.copy(statement, params) as copy:
        for block in copy:
            buffer += block
    body = memoryview(buffer)[_COPY_HEADER:len(buffer) - _COPY_TRAILER]
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(width):
        fields += [(f"size{i}", ">i4"), (f"value{i}", ">i8")]
    row = np.dtype(fields)
    if len(body) % row.itemsize:
        raise ValueError(_NOT_INTEGERS)
    rows = np.frombuffer(body, dtype=row)
    if rows.size and ((rows["count"] != width).any()
                      or any((rows[f"size{i}"] != 8).any() for i in range(width))):
        raise ValueError(_NOT_INTEGERS)
    out = np.empty((rows.size, width), dtype=np.int64)
    for i in range(width):
        out[:, i] = rows[f"value{i}"]
    return out
