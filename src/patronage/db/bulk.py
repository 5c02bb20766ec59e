"""Bulk writes of many rows at once: COPY on PostgreSQL (binary, built with numpy, where the
columns allow), ``executemany`` on SQLite.

Used by the synthetic company generators, where millions of rows are written in one transaction,
and by the daily autoship run. Columns are given as numpy arrays (or lists); times as unix
seconds in a column named in ``times``, or as ``datetime64`` arrays in UTC (dates as
``datetime64[D]``; ``NaT`` is NULL). Rows go in the order given, so ids that refer to earlier
rows of the same table satisfy their foreign keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from patronage.arrays import I64
from patronage.db.loaders import integer_matrix
from patronage.fastpath.copy_binary import column_types, encode

CHUNK = 200_000


def _time_text(seconds: np.ndarray[Any, Any], dialect: str) -> list[str | None]:
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    if dialect == "sqlite":
        # The format SQLAlchemy's SQLite DateTime reads back.
        return [s.replace("T", " ") + ".000000" for s in stamps.tolist()]
    return [s.replace("T", " ") + "+00" for s in stamps.tolist()]


def _datetime64_text(values: np.ndarray[Any, Any], dialect: str) -> list[str | None]:
    """A ``datetime64`` column (UTC) as the text each database reads: dates as ISO dates,
    anything finer as timestamps to the microsecond; ``NaT`` as NULL."""
    null = np.isnat(values).tolist()
    if np.datetime_data(values.dtype)[0] == "D":
        texts = np.datetime_as_string(values, unit="D").tolist()
    else:
        suffix = "" if dialect == "sqlite" else "+00"
        texts = [t.replace("T", " ") + suffix for t in np.datetime_as_string(
            values.astype("datetime64[us]"), unit="us").tolist()]
    return [None if gone else t for t, gone in zip(texts, null, strict=True)]


def _column(values: Any, is_time: bool, dialect: str) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            return _datetime64_text(values, dialect)
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
        if values.dtype.kind == "M":
            return ["\\N" if t is None else t for t in _datetime64_text(values, "postgresql")]
        if is_time:
            return [s for s in _time_text(values, "postgresql") if s is not None]
        if values.dtype.kind in "iu":
            as_text: list[str] = values.astype(str).tolist()
            return as_text
        if values.dtype == np.bool_:
            return np.where(values, "t", "f").tolist()  # type: ignore[no-any-return]
        values = values.tolist()
    as_text = ["\\N" if v is None else ("t" if v else "f") if isinstance(v, bool) else str(v)
               for v in values]
    joined = "".join(t for t, v in zip(as_text, values, strict=True) if v is not None)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [_escape(v) for v in values]
    return as_text


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
    types = column_types(raw, table) if dialect == "postgresql" else {}
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if dialect == "postgresql":
            _copy_in(raw, table, names, columns, types, times, start, stop)
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


def planner_rows(conn: Connection, table: str) -> int:
    """How many rows the query planner's statistics say ``table`` holds (0: none gathered)."""
    if conn.dialect.name == "postgresql":
        known = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = "
                                  "to_regclass(:t)"), {"t": table}).scalar() or 0
        return max(0, int(known))
    if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
                            ).first() is None:
        return 0
    stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t LIMIT 1"),
                        {"t": table}).scalar()
    return int(str(stat).split()[0]) if stat else 0


def refresh_statistics(conn: Connection, table: str, written: int) -> bool:
    """Gather the query planner's statistics of ``table`` (a name of the schema's, never user
    input) when they know of fewer rows than were just written to it (none at all on a new
    table): without them the planner may read a whole bulk-written run to find one owner's or
    one member's rows. Returns whether it analysed."""
    if planner_rows(conn, table) >= written:
        return False
    conn.exec_driver_sql(f"ANALYZE {table}")
    return True


def time_text(moment: datetime, dialect: str) -> str:
    """One aware time in the text form each database's bulk path stores (UTC, microseconds)."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    stamp = utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return stamp if dialect == "sqlite" else stamp + "+00"


def _copy_block(columns: Mapping[str, Any], times: Sequence[str], start: int, stop: int) -> str:
    cols = [_copy_text(v[start:stop], name in times) for name, v in columns.items()]
    return "\n".join("\t".join(row) for row in zip(*cols, strict=True)) + "\n"


def _copy_in(raw: Any, table: str, names: Sequence[str], columns: Mapping[str, Any],
             types: Mapping[str, int], times: Sequence[str], start: int, stop: int) -> None:
    """PostgreSQL: rows ``start..stop`` copied into ``table``, in the binary format when every
    column allows it (built with numpy), else in the text format."""
    block = encode(columns, types, times, start, stop)
    binary = " (FORMAT BINARY)" if block is not None else ""
    with raw.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(names)}) FROM STDIN{binary}") as copy:
        copy.write(block if block is not None else _copy_block(columns, times, start, stop))


def copy_payload(columns: Mapping[str, Any], types: Mapping[str, int]) -> tuple[bytes | str, bool]:
    """PostgreSQL: every row of ``columns`` as one COPY stream for a table of column ``types``
    (see :func:`column_types`), and whether it is in the binary format. Needs no connection:
    it may be built in another process than the one that copies it in (:func:`copy_stream`)."""
    n = len(next(iter(columns.values())))
    block = encode(columns, types, (), 0, n)
    if block is not None:
        return block, True
    return _copy_block(columns, (), 0, n), False


def copy_stream(conn: Connection, table: str, names: Sequence[str],
                payload: tuple[bytes | str, bool]) -> None:
    """PostgreSQL: a stream of :func:`copy_payload` (columns ``names``) copied into ``table``."""
    raw = conn.connection.driver_connection
    assert raw is not None
    data, binary = payload
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN"
                                       f"{' (FORMAT BINARY)' if binary else ''}") as copy:
        copy.write(data)


def _staged(conn: Connection, table: str, columns: Mapping[str, Any], times: Sequence[str],
            start: int, stop: int) -> str:
    """PostgreSQL: copy rows into a temporary table shaped like ``table``; returns its name."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(columns)
    stage = f"_stage_{table}"
    conn.execute(text(f"DROP TABLE IF EXISTS {stage}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {stage} AS SELECT {names} FROM {table} LIMIT 0"))
    _copy_in(raw, stage, list(columns), columns, column_types(raw, stage), times, start, stop)
    return stage


def _copy_if_all_new(conn: Connection, table: str, columns: Mapping[str, Any],
                     times: Sequence[str], start: int, stop: int) -> bool:
    """PostgreSQL: rows ``start..stop`` copied straight into ``table`` under a savepoint, when
    no unique key of theirs is stored yet (the common case: a first run); on the first key
    that is, the savepoint is rolled back and ``False`` returned, nothing written."""
    from psycopg.errors import UniqueViolation

    raw = conn.connection.driver_connection
    assert raw is not None
    savepoint = conn.begin_nested()
    try:
        _copy_in(raw, table, list(columns), columns, column_types(raw, table), times, start,
                 stop)
    except UniqueViolation:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def insert_ignore(conn: Connection, table: str, columns: Mapping[str, Any],
                  times: Sequence[str] = ()) -> int:
    """Insert rows, silently keeping the row already stored where a unique key says it exists;
    returns how many rows were new."""
    names = list(columns)
    n = len(next(iter(columns.values())))
    dialect = conn.dialect.name
    inserted = 0
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if dialect == "postgresql":
            if _copy_if_all_new(conn, table, columns, times, start, stop):
                inserted += stop - start
                continue
            stage = _staged(conn, table, columns, times, start, stop)
            done = conn.execute(text(f"INSERT INTO {table} ({', '.join(names)}) SELECT "
                                     f"{', '.join(names)} FROM {stage} ON CONFLICT DO NOTHING"))
            inserted += done.rowcount
            conn.execute(text(f"DROP TABLE {stage}"))
        else:
            raw = conn.connection.driver_connection
            assert raw is not None
            cur = raw.cursor()
            cur.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) VALUES "
                            f"({', '.join('?' * len(names))})",
                            _rows(columns, times, dialect, start, stop))
            inserted += cur.rowcount
            cur.close()
    return inserted


def update_rows(conn: Connection, table: str, columns: Mapping[str, Any],
                times: Sequence[str] = ()) -> None:
    """Set columns of many rows at once; ``columns['id']`` names the rows, the rest are values."""
    names = [name for name in columns if name != "id"]
    n = len(columns["id"])
    dialect = conn.dialect.name
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if dialect == "postgresql":
            stage = _staged(conn, table, columns, times, start, stop)
            sets = ", ".join(f"{name} = s.{name}" for name in names)
            conn.execute(text(f"UPDATE {table} t SET {sets} FROM {stage} s WHERE t.id = s.id"))
            conn.execute(text(f"DROP TABLE {stage}"))
        else:
            raw = conn.connection.driver_connection
            assert raw is not None
            ordered = {name: columns[name] for name in [*names, "id"]}
            cur = raw.cursor()
            cur.executemany(f"UPDATE {table} SET {', '.join(f'{n} = ?' for n in names)} "
                            "WHERE id = ?", _rows(ordered, times, dialect, start, stop))
            cur.close()


def allocate_ids(conn: Connection, table: str, n: int) -> I64:
    """``n`` fresh ids for ``table``, safe beside other writers: from the id sequence on
    PostgreSQL (read back as one binary stream); on SQLite above the largest id, after taking
    the database's write lock (a write statement that changes nothing takes it), which the
    caller's transaction keeps until it ends."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if conn.dialect.name == "postgresql":
        return integer_matrix(conn, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                    "FROM generate_series(1, :n)", {"n": n}, 1)[:, 0].copy()
    conn.execute(text(f"UPDATE {table} SET id = id WHERE 0"))
    top = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()
    return np.arange(int(top) + 1, int(top) + 1 + n, dtype=np.int64)


def rows_matching(conn: Connection, table: str, column: str, values: Sequence[Any],
                  wanted: Sequence[str]) -> list[tuple[Any, ...]]:
    """The ``wanted`` columns of the rows of ``table`` whose ``column`` is one of ``values``
    (many values: they are staged in a temporary table and joined, not spelled out in SQL)."""
    if not values:
        return []
    dialect = conn.dialect.name
    conn.execute(text("DROP TABLE IF EXISTS _match"))
    conn.execute(text(f"CREATE TEMPORARY TABLE _match AS SELECT {column} AS v FROM {table} "
                      "LIMIT 0"))
    raw = conn.connection.driver_connection
    assert raw is not None
    for start in range(0, len(values), CHUNK):
        part = values[start:start + CHUNK]
        if dialect == "postgresql":
            with raw.cursor() as cur, cur.copy("COPY _match (v) FROM STDIN") as copy:
                copy.write("".join(_escape(v) + "\n" for v in part))
        else:
            cur = raw.cursor()
            cur.executemany("INSERT INTO _match (v) VALUES (?)", [(v,) for v in part])
            cur.close()
    cols = ", ".join(f"t.{name}" for name in wanted)
    rows = [tuple(row) for row in conn.execute(
        text(f"SELECT {cols} FROM {table} t JOIN _match m ON t.{column} = m.v"))]
    conn.execute(text("DROP TABLE _match"))
    return rows


def fetch_rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of a query, straight from the driver (no per-row result objects): for hot paths
    that read hundreds of thousands of plain rows. ``sql`` uses ``:name`` parameters."""
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        sql = re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", sql)
    cur = raw.cursor()
    try:
        cur.execute(sql, dict(params))
        return list(cur.fetchall())
    finally:
        cur.close()
