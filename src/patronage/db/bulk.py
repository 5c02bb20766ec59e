"""Bulk writes of many rows at once: COPY on PostgreSQL, ``executemany`` on SQLite.

Used by the synthetic company generators, where millions of rows are written in one transaction.
Columns are given as numpy arrays (or lists); times as unix seconds in a column named in
``times``. Rows go in the order given, so ids that refer to earlier rows of the same table satisfy
their foreign keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

CHUNK = 200_000


def _time_text(seconds: np.ndarray[Any, Any], dialect: str) -> list[str | None]:
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    if dialect == "sqlite":
        # The format SQLAlchemy's SQLite DateTime reads back.
        return [s.replace("T", " ") + ".000000" for s in stamps.tolist()]
    return [s.replace("T", " ") + "+00" for s in stamps.tolist()]


def _column(values: Any, is_time: bool, dialect: str) -> list[Any]:
    if isinstance(values, np.ndarray):
        if is_time:
            return _time_text(values, dialect)
        if values.dtype == np.bool_ and dialect == "sqlite":
            values = values.astype(np.int64)
        as_list: list[Any] = values.tolist()
        return as_list
    return list(values)


def _escape(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text_value = str(value)
    if any(c in text_value for c in "\\\t\n\r"):
        text_value = (text_value.replace("\\", "\\\\").replace("\t", "\\t")
                      .replace("\n", "\\n").replace("\r", "\\r"))
    return text_value


def _copy_text(values: Any, is_time: bool) -> list[str]:
    """One column in PostgreSQL's COPY text format."""
    if isinstance(values, np.ndarray):
        if is_time:
            return [s for s in _time_text(values, "postgresql") if s is not None]
        if values.dtype.kind in "iu":
            as_text: list[str] = values.astype(str).tolist()
            return as_text
        if values.dtype == np.bool_:
            return np.where(values, "t", "f").tolist()  # type: ignore[no-any-return]
        if values.dtype.kind == "U" and not any(
            c in text for text in np.unique(values).tolist() for c in "\\\t\n\r"
        ):
            return values.tolist()  # type: ignore[no-any-return]
        values = values.tolist()
    return [_escape(v) for v in values]


def _rows(columns: Mapping[str, Any], times: Sequence[str], dialect: str,
          start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    cols = [
        _column(v[start:stop], name in times, dialect) for name, v in columns.items()
    ]
    return zip(*cols, strict=True)


def write_rows(conn: Connection, table: str, columns: Mapping[str, Any],
               times: Sequence[str] = ()) -> int:
    """Insert every row of ``columns`` (name → equal-length array) into ``table``; returns count."""
    names = list(columns)
    if not names:
        return 0
    n = len(next(iter(columns.values())))
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    assert raw is not None
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if dialect == "postgresql":
            cols = [_copy_text(v[start:stop], name in times) for name, v in columns.items()]
            block = "\n".join("\t".join(row) for row in zip(*cols, strict=True)) + "\n"
            with raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(names)}) FROM STDIN"
            ) as copy:
                copy.write(block)
        else:
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            cur = raw.cursor()
            cur.executemany(sql, _rows(columns, times, dialect, start, stop))
            cur.close()
    return n


def reset_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """After rows were written with explicit ids, let PostgreSQL's id sequences continue above."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
