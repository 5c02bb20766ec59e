"""All-integer reads: parameters bound by the driver (PostgreSQL: psycopg merges them into the
COPY statement), NULLs refused; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import Engine

from patronage.db.loaders import bound_time, day_sql, epoch_sql
from patronage.fastpath.reads import integer_matrix


def _one(engine: Engine, sql: str, params: dict[str, object], width: int = 1) -> list[int]:
    with engine.connect() as conn:
        m = integer_matrix(conn, sql, params, width)
    assert m.dtype == np.int64 and m.shape[1] == width
    return [int(v) for v in m.reshape(-1).tolist()]


def test_parameters_are_bound_by_the_driver_whatever_they_hold(engine: Engine) -> None:
    # A quote, a colon and a percent sign in a value; a name that begins another name; a
    # percent sign in the SQL, outside and inside quoted text.
    text_value = "it's 50% :n off"
    sql = ("SELECT length(:text), :n, :nn, 7 % 3, CASE WHEN :text = :same AND "
           "'50%' = :pct THEN 1 ELSE 0 END")
    got = _one(engine, sql, {"text": text_value, "same": text_value, "pct": "50%", "n": 2,
                             "nn": 40}, 5)
    assert got == [len(text_value), 2, 40, 1, 1]


def test_a_value_is_bound_as_data_never_as_sql(engine: Engine) -> None:
    hostile = "0) UNION SELECT 99 --"
    got = _one(engine, "SELECT CASE WHEN :v = '0) UNION SELECT 99 --' THEN 1 ELSE 0 END",
               {"v": hostile})
    assert got == [1]


def test_times_and_dates_bind_as_the_loaders_pass_them(engine: Engine) -> None:
    moment = datetime(2026, 10, 2, 8, 30, 15, tzinfo=UTC)
    with engine.connect() as conn:
        t = bound_time(conn, moment)
        if conn.dialect.name == "postgresql":
            sql = (f"SELECT {epoch_sql(conn, 'CAST(:t AS timestamptz)')}, "
                   f"{day_sql(conn, 'CAST(:d AS date)')}")
        else:
            sql = f"SELECT {epoch_sql(conn, ':t')}, {day_sql(conn, ':d')}"
        m = integer_matrix(conn, sql, {"t": t, "d": date(2026, 10, 2).isoformat()}, 2)
    assert m.tolist() == [[int(moment.timestamp()), (date(2026, 10, 2) - date(1970, 1, 1)).days]]


def test_a_query_without_parameters_keeps_its_percent_signs(engine: Engine) -> None:
    assert _one(engine, "SELECT 10 % 4", {}) == [2]


def test_many_rows_come_back_in_order(engine: Engine) -> None:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = "SELECT g, g * :k FROM generate_series(1, :n) AS g ORDER BY g"
        else:
            sql = ("WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
                   "SELECT g, g * :k FROM s ORDER BY g")
        m = integer_matrix(conn, sql, {"n": 5000, "k": -3}, 2)
    assert m[:, 0].tolist() == list(range(1, 5001))
    assert (m[:, 1] == m[:, 0] * -3).all()


def test_a_null_is_refused_not_misread(engine: Engine) -> None:
    # PostgreSQL: a NULL changes a row's size in the binary stream; SQLite: numpy takes no None.
    error = ValueError if engine.dialect.name == "postgresql" else TypeError
    with pytest.raises(error), engine.connect() as conn:
        integer_matrix(conn, "SELECT 1, CAST(NULL AS bigint) WHERE :a = 1", {"a": 1}, 2)
