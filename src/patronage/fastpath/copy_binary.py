"""PostgreSQL's binary COPY format, built with numpy: many rows written without a Python loop
over values.

A binary COPY stream is a header, then per row a 16-bit field count and per field a 32-bit
length (-1 for NULL) and the value in the column type's binary form (big-endian integers, one
byte booleans, UTF-8 text, timestamps as microseconds and dates as days since 2000-01-01), then
a trailer
(https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"). The exact column types
are read from the catalog, since a binary value must have its column's width.

:func:`encode` returns ``None`` when a column has a type or values it does not handle; the caller
then writes those rows in the text format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import is_, is_not
from typing import Any

import numpy as np

from patronage.arrays import I32, I64, U8, Bools

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

#: Type oids of the columns written in binary, with their width and numpy form.
_INTEGERS = {21: ">i2", 23: ">i4", 20: ">i8"}
_BOOL, _TEXT, _VARCHAR, _DATE, _TIMESTAMP, _TIMESTAMPTZ = 16, 25, 1043, 1082, 1114, 1184
_TEXTS = (_TEXT, _VARCHAR)
_TIMES = (_TIMESTAMP, _TIMESTAMPTZ)
_EPOCH_2000 = 946_684_800  # unix seconds at 2000-01-01T00:00:00Z
_DAYS_TO_2000 = 10_957  # days from 1970-01-01 to 2000-01-01


@dataclass
class _Field:
    """One column of a block: a length per row (-1: NULL) and the values' bytes, either one
    fixed-width matrix (a row per row) or variable-length bytes concatenated."""

    lengths: I32
    fixed: U8 | None = None  # (rows, width)
    data: U8 | None = None  # the non-NULL values' bytes, in row order


def column_types(raw: Any, table: str) -> dict[str, int]:
    """Column name → type oid of ``table`` (a temporary table too), from the catalog."""
    with raw.cursor() as cur:
        cur.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = "
                    "to_regclass(%s) AND attnum > 0 AND NOT attisdropped", (table,))
        return {str(name): int(oid) for name, oid in cur.fetchall()}


def _nullable_ints(values: Sequence[Any]) -> tuple[I64, Bools] | None:
    """A list of ints and Nones as values and a NULL mask; None if it holds anything else."""
    kinds = set(map(type, values))
    if kinds <= _INTS_OR_NONE:  # the common case, without a Python loop over the values
        n = len(values)
        if type(None) not in kinds:
            return np.fromiter(values, dtype=np.int64, count=n), np.zeros(n, dtype=bool)
        mask = np.fromiter(map(is_, values, repeat(None)), dtype=bool, count=n)
        return np.fromiter(map(_NONE_AS_ZERO.get, values, values), dtype=np.int64,
                           count=n), mask
    if not all(v is None or isinstance(v, int | np.integer) for v in values):
        return None
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    filled = np.fromiter((0 if v is None else v for v in values), dtype=np.int64,
                         count=len(values))
    return filled, mask


_INTS_OR_NONE = frozenset((int, type(None)))
_STRS_OR_NONE = frozenset((str, type(None)))
_NONE_AS_ZERO = {None: 0}


def _integer_field(values: Any, width: str, name: str) -> _Field | None:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "b":
            values = values.astype(np.int64)
        if values.dtype.kind not in "iu":
            return None
        ints, null = values.astype(np.int64, copy=False), np.zeros(values.shape[0], dtype=bool)
    else:
        got = _nullable_ints(values)
        if got is None:
            return None
        ints, null = got
    info = np.iinfo(np.dtype(width).newbyteorder("="))
    present = ints[~null]
    if present.size and (int(present.min()) < info.min or int(present.max()) > info.max):
        raise ValueError(f"column {name}: a value does not fit the column's "
                         f"{np.dtype(width).itemsize * 8}-bit integer type")
    size = np.dtype(width).itemsize
    lengths = np.where(null, -1, size).astype(np.int32)
    fixed = ints.astype(width).view(np.uint8).reshape(-1, size)
    return _Field(lengths, fixed=fixed)


def _bool_field(values: Any) -> _Field | None:
    if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
        flags = values.astype(bool)
        return _Field(np.ones(flags.shape[0], dtype=np.int32),
                      fixed=flags.astype(np.uint8).reshape(-1, 1))
    if all(isinstance(v, bool | np.bool_) for v in values):
        flags = np.array(values, dtype=bool)
        return _Field(np.ones(flags.shape[0], dtype=np.int32),
                      fixed=flags.astype(np.uint8).reshape(-1, 1))
    return None


def _time_field(values: Any, seconds: bool) -> _Field | None:
    """Microseconds since 2000-01-01 UTC, from unix seconds (an integer array named in
    ``times``) or from a ``datetime64`` array read as UTC (``NaT``: NULL)."""
    if not isinstance(values, np.ndarray):
        return None
    if values.dtype.kind == "M":
        stamps = values.astype("datetime64[us]")
        null = np.isnat(stamps)
        micros = stamps.astype(np.int64) - _EPOCH_2000 * 1_000_000
    elif seconds and values.dtype.kind in "iu":
        null = np.zeros(values.shape[0], dtype=bool)
        micros = (values.astype(np.int64) - _EPOCH_2000) * 1_000_000
    else:
        return None
    return _Field(np.where(null, -1, 8).astype(np.int32),
                  fixed=np.where(null, 0, micros).astype(">i8").view(np.uint8).reshape(-1, 8))


def _date_field(values: Any) -> _Field | None:
    """Days since 2000-01-01, from a ``datetime64`` array (``NaT``: NULL)."""
    if not isinstance(values, np.ndarray) or values.dtype.kind != "M":
        return None
    days = values.astype("datetime64[D]")
    null = np.isnat(days)
    since = days.astype(np.int64) - _DAYS_TO_2000
    return _Field(np.where(null, -1, 4).astype(np.int32),
                  fixed=np.where(null, 0, since).astype(">i4").view(np.uint8).reshape(-1, 4))


def _text_field(values: Any) -> _Field | None:
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        # Few distinct values (bonus names, kinds): each encoded once, gathered per row.
        unique, inverse = np.unique(values, return_inverse=True)
        encoded = [str(u).encode() for u in unique.tolist()]
        unique_len = np.array([len(e) for e in encoded], dtype=np.int64)
        table = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        starts = np.concatenate(([0], np.cumsum(unique_len)[:-1]))
        inverse = inverse.reshape(-1)
        row_len = unique_len[inverse]
        return _Field(row_len.astype(np.int32), data=table[_segments(starts[inverse], row_len)])
    if isinstance(values, np.ndarray):
        values = values.tolist()
    kinds = set(map(type, values))
    if kinds <= _STRS_OR_NONE:  # the common case, without a Python loop over the values
        return _strings_field(values, type(None) in kinds)
    if not all(v is None or isinstance(v, str) for v in values):
        return None
    encoded = [b"" if v is None else v.encode() for v in values]
    lengths = np.fromiter((-1 if v is None else len(e) for v, e in zip(values, encoded,
                                                                     strict=True)),
                          dtype=np.int32, count=len(values))
    return _Field(lengths, data=np.frombuffer(b"".join(encoded), dtype=np.uint8))


def _strings_field(values: Sequence[str | None], nulls: bool) -> _Field:
    """Text values (and NULLs when ``nulls``) as UTF-8: encoded all at once, and each value's
    length in bytes (its length in characters when the text is all ASCII)."""
    given = (np.fromiter(map(is_not, values, repeat(None)), dtype=bool, count=len(values))
             if nulls else None)
    present = values if given is None else list(compress(values, given.tobytes()))
    joined = "".join(present)  # type: ignore[arg-type]
    data = joined.encode()
    if len(data) == len(joined):
        sizes = np.fromiter(map(len, present), dtype=np.int32, count=len(present))  # type: ignore[arg-type]
    else:
        sizes = np.fromiter(map(len, map(str.encode, present)), dtype=np.int32,  # type: ignore[arg-type]
                            count=len(present))
    if given is None:
        lengths = sizes
    else:
        lengths = np.full(len(values), -1, dtype=np.int32)
        lengths[given] = sizes
    return _Field(lengths, data=np.frombuffer(data, dtype=np.uint8))


def _segments(starts: I64, lengths: I64) -> I64:
    """The positions ``starts[i] .. starts[i] + lengths[i] - 1`` for every i, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def encode(columns: Mapping[str, Any], types: Mapping[str, int], times: Sequence[str],
           start: int, stop: int) -> bytes | None:
    """Rows ``start..stop`` of ``columns`` as one binary COPY stream (header to trailer), or
    None when a column's type or values are not handled here."""
    fields: list[_Field] = []
    for name, values in columns.items():
        oid = types.get(name)
        part = values[start:stop]
        field: _Field | None
        if oid in _INTEGERS:
            field = _integer_field(part, _INTEGERS[oid], name)
        elif oid == _BOOL:
            field = _bool_field(part)
        elif oid in _TEXTS:
            field = _text_field(part)
        elif oid in _TIMES:
            field = _time_field(part, name in times)
        elif oid == _DATE:
            field = _date_field(part)
        else:
            field = None
        if field is None:
            return None
        fields.append(field)
    n = stop - start
    count = len(fields)
    if all(f.fixed is not None and bool((f.lengths >= 0).all()) for f in fields):
        return _fixed_rows(fields, n)
    row_size = np.full(n, 2, dtype=np.int64)
    for f in fields:
        row_size += 4 + np.maximum(f.lengths, 0)
    row_start = np.concatenate(([0], np.cumsum(row_size)[:-1])) + len(HEADER)
    buf = np.empty(len(HEADER) + int(row_size.sum()) + len(TRAILER), dtype=np.uint8)
    buf[:len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    buf[len(buf) - len(TRAILER):] = np.frombuffer(TRAILER, dtype=np.uint8)
    buf[row_start] = count >> 8
    buf[row_start + 1] = count & 0xFF
    at = row_start + 2
    four = np.arange(4, dtype=np.int64)
    for f in fields:
        buf[at[:, None] + four] = f.lengths.astype(">i4").view(np.uint8).reshape(-1, 4)
        present = f.lengths >= 0
        if f.fixed is not None:
            width = f.fixed.shape[1]
            rows = at[present] + 4
            buf[rows[:, None] + np.arange(width, dtype=np.int64)] = f.fixed[present]
        elif f.data is not None and f.data.size:
            buf[_segments(at[present] + 4, f.lengths[present].astype(np.int64))] = f.data
        at = at + 4 + np.maximum(f.lengths, 0)
    return buf.tobytes()


def _fixed_rows(fields: list[_Field], n: int) -> bytes:
    """Rows of fixed-width, non-NULL fields: every row has the same layout, so the rows are one
    structured array filled a column at a time."""
    layout: list[tuple[Any, ...]] = [("count", ">i2")]
    for i, f in enumerate(fields):
        assert f.fixed is not None
        layout += [(f"len{i}", ">i4"), (f"value{i}", np.uint8, (f.fixed.shape[1],))]
    rows = np.empty(n, dtype=np.dtype(layout))
    rows["count"] = len(fields)
    for i, f in enumerate(fields):
        assert f.fixed is not None
        rows[f"len{i}"] = f.fixed.shape[1]
        rows[f"value{i}"] = f.fixed
    return HEADER + rows.tobytes() + TRAILER
