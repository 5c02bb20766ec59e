"""The import reader's quicker paths give what the plain ones give: rows split without the CSV
reader, times written as SQLite stores them, times for the binary COPY, phone numbers checked
by calling code, suppression digests and the binary COPY's text and integer columns.

Each quick path is compared with the plain way it replaces, kept here as it was."""

from __future__ import annotations

import csv
import hmac
import io
import random
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patronage.fastpath.copy_binary import HEADER, TRAILER, encode
from patronage.markets.core import contacts
from patronage.network.members import address_hash, address_hasher
from patronage.orders import csv_rows
from patronage.orders.csv_rows import _EDGES, Findings, Row, _cell, read_rows
from patronage.orders.members_import import _joined, parse_time, time_text

# -- reading: the row-by-row reading of the CSV reader, as it was ---------------------------


def _plain_chunks(lines: Iterable[str], columns: list[str], required: Iterable[str],
                  limits: Mapping[str, int], found: Findings,
                  chunk: int) -> Iterator[list[Row]]:
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        header = []
    except csv.Error as exc:
        found.add("line 1 (header)", f"not readable as CSV: {exc}")
        return
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    twice = sorted({c for c in header if header.count(c) > 1})
    if missing:
        found.add("line 1 (header)", f"missing column(s): {', '.join(missing)}")
    if unknown:
        found.add("line 1 (header)", f"unknown column(s): {', '.join(unknown)}")
    if twice:
        found.add("line 1 (header)", f"column(s) named more than once: {', '.join(twice)}")
    if missing or unknown or twice:
        return
    width = len(header)
    plan = [(i, header.index(c), c, limits.get(c)) for i, c in enumerate(columns) if c in header]
    needed = [(columns.index(c), c) for c in required]
    blank: list[str | None] = [None] * len(columns)
    rows: list[Row] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            found.add(f"line {reader.line_num}", f"not readable as CSV: {exc}")
            break
        line = reader.line_num
        if not values:
            continue
        have = len(values)
        cells = blank.copy()
        row = Row(line, cells)
        refused: set[int] = set()
        if have > width:
            row.ok = False
            found.cell(line, "(row)", f"{have} values for {width} columns")
        for i, w, column, limit in plan:
            if w >= have or not (value := values[w]):
                continue
            if value[0] in _EDGES or value[-1] in _EDGES:
                cleaned = _cell(value)
                if cleaned is None:
                    continue
                value = cleaned
            if "\x00" in value:
                found.cell(line, column, "holds a NUL character (\\0), which no text may hold")
            elif limit is not None and len(value) > limit:
                found.cell(line, column, f"{len(value)} characters; at most {limit} fit")
            else:
                cells[i] = value
                continue
            row.ok = False
            refused.add(i)
        for i, column in needed:
            if cells[i] is None and i not in refused:
                row.ok = False
                found.cell(line, column, "is required")
        rows.append(row)
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows


COLUMNS = ["a", "b", "c", "d"]
REQUIRED = ["a"]
LIMITS = {"a": 4, "b": 6, "c": 3}
#: What a cell may hold: the characters every quick check is about, and others.
ALPHABET = ["x", "y", "é", ",", ",", ",", " ", " ", "\t", "\v", "\f", "\r", "\n", "\r\n", '"',
            "'", "=", "\x00", "\xa0", "\x1c", "\u2028"]
HEADERS = ["a,b,c", "a,b,c,d", "c,a", "b,a,d", " a ,b", "a,a", "b,c", "a,e", '"a",b', ""]


def _both(text: str, chunk: int, tmp: Path | None = None) -> None:
    """The rows and problems of ``text`` read the quick way and the plain way are the same,
    from a text and from a file."""
    plain = Findings()
    want = [[(r.line, r.cells, r.ok) for r in rows] for rows in _plain_chunks(
        io.StringIO(text.removeprefix("\ufeff"), newline=""), COLUMNS, REQUIRED, LIMITS,
        plain, chunk)]
    quick = Findings()
    got = [[(r.line, r.cells, r.ok) for r in rows]
           for rows in read_rows(text, COLUMNS, REQUIRED, LIMITS, quick, chunk)]
    assert got == want
    assert (quick.listed, quick.more) == (plain.listed, plain.more)
    if tmp is None:
        return
    path = tmp / "rows.csv"
    path.write_bytes(text.encode())
    plain = Findings()
    with path.open("rb") as stream:
        want = [[(r.line, r.cells, r.ok) for r in rows] for rows in _plain_chunks(
            csv_rows._lines(stream, plain), COLUMNS, REQUIRED, LIMITS, plain, chunk)]
    quick = Findings()
    got = [[(r.line, r.cells, r.ok) for r in rows]
           for rows in read_rows(path, COLUMNS, REQUIRED, LIMITS, quick, chunk)]
    assert got == want
    assert (quick.listed, quick.more) == (plain.listed, plain.more)


_cells = st.lists(st.sampled_from(ALPHABET), max_size=8).map("".join)
_lines = st.lists(st.one_of(_cells, st.lists(st.sampled_from(["xy", "", " x", "x ", "'=x", "é",
                                                               "xxxxxxx"]), max_size=6)
                            .map(",".join)), max_size=12)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HEADERS), _lines, st.sampled_from(["\n", "\r\n", "\r"]),
       st.booleans(), st.integers(1, 4))
@example("a,b,c", ["x,y,z", "", '"q\nr",s,t', "'=x, y ,zz", "x\x00,y", "xxxxx,y"], "\r\n",
         True, 2)
def test_rows_split_without_the_csv_reader_are_the_csv_readers_rows(
        header: str, lines: list[str], end: str, last_end: bool, chunk: int) -> None:
    text = end.join([header, *lines]) + (end if last_end else "")
    _both(text, chunk)


def test_rows_of_a_file_and_its_problems_are_the_csv_readers_too(tmp_path: Path) -> None:
    rng = random.Random(5)
    pieces = ["x", "y", "é", ",", ",", " ", "\t", "'", "=", '"', "\x00", "\r", "\n", "\r\n",
              "\xa0", "xxxxxxx"]
    for _ in range(300):
        header = rng.choice(HEADERS[:5])
        lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
                 for _ in range(rng.randint(0, 15))]
        text = "\n".join([header, *lines]) + rng.choice(["", "\n", "\r\n"])
        _both(text, rng.randint(1, 5), tmp_path)


def test_a_value_too_long_for_the_csv_reader_is_its_problem_either_way(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    try:
        csv.field_size_limit(8)
        for text in ["a,b\nxy,z\nxxxxxxxxx,y\nx,y\n", "a,b\nxxxxxxxx,y\nx,y\n",
                     'a,b\nx,"xxxxxxxxxx"\nx,y\n', "a,b\nxxxxxxx,y\n"]:
            _both(text, 2, tmp_path)
    finally:
        csv.field_size_limit(before)


def test_a_line_that_is_not_utf8_ends_the_reading_either_way(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b\nx,y\nz,\xe9\nw,v\n")
    quick, plain = Findings(), Findings()
    got = [[(r.line, r.cells) for r in rows]
           for rows in read_rows(path, COLUMNS, REQUIRED, LIMITS, quick, 5)]
    with path.open("rb") as stream:
        want = [[(r.line, r.cells) for r in rows] for rows in _plain_chunks(
            csv_rows._lines(stream, plain), COLUMNS, REQUIRED, LIMITS, plain, 5)]
    assert got == want == [[(2, ["x", "y", None, None])]]
    assert quick.listed == plain.listed and "line 3" in quick.listed[0].place


# -- times ------------------------------------------------------------------------------------


def _stored(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ",
                                                                 timespec="microseconds")


_moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                   timezone(timedelta(hours=-8))]))
_formats = st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%SZ",
                            "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S",
                            "%G-W%V-%uT%H:%M:%SZ", "%Y%m%dT%H%M%SZ"])


@settings(max_examples=500, deadline=None)
@given(_moments, _formats)
@example(datetime(2020, 1, 1, tzinfo=UTC), "%Y-%m-%dT%H:%M:%SZ")
@example(datetime(999, 1, 1, tzinfo=UTC), "%Y-%m-%dT%H:%M:%SZ")
@example(datetime(2020, 1, 1, tzinfo=UTC), "%G-W%V-%uT%H:%M:%SZ")
def test_a_time_is_written_as_sqlite_stores_it(moment: datetime, form: str) -> None:
    text = moment.strftime(form)
    if moment.year < 1000:
        text = f"{moment.year:04d}{text[len(str(moment.year)):]}"
    parsed = parse_time(text)
    if isinstance(parsed, datetime):
        assert time_text(text, parsed) == _stored(parsed)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("0123456789-T:Z+ .W\u0660z"), max_size=26))
@example("2020-01-01T24:00:00Z")
@example("2020-01-01T23:59:60Z")
@example("\u0662020-01-01T00:00:00Z")
def test_a_time_text_of_any_shape_is_written_as_sqlite_stores_it(text: str) -> None:
    parsed = parse_time(text)
    if isinstance(parsed, datetime):
        assert time_text(text, parsed) == _stored(parsed)


def _plain_joined(values: Sequence[datetime | None]) -> np.ndarray:
    return np.array([None if v is None else v.astimezone(UTC).replace(tzinfo=None)
                     for v in values], dtype="datetime64[us]")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _moments), min_size=1, max_size=30))
def test_times_for_the_binary_copy_are_the_times_in_utc(values: list[datetime | None]) -> None:
    assert _joined(values).tolist() == _plain_joined(values).tolist()
    assert _joined(values).dtype == np.dtype("datetime64[us]")


def test_times_at_the_ends_of_the_calendar_are_converted_as_before() -> None:
    near = [datetime(1, 1, 1, 3, tzinfo=UTC), datetime(9999, 12, 31, 20, tzinfo=UTC), None]
    assert _joined(near).tolist() == _plain_joined(near).tolist()
    beyond = [datetime.fromisoformat("0001-01-01T00:00:00+05:00")]
    with pytest.raises(OverflowError):
        _plain_joined(beyond)
    with pytest.raises(OverflowError):
        _joined(beyond)


# -- phone numbers, digests --------------------------------------------------------------------


def _plain_e164_valid(e164: str) -> bool | None:
    size, regions = contacts._calling(e164[1:])
    if not regions:
        return False
    if "001" in regions:
        return None
    nsn = e164[1 + size:]
    if len(regions) == 1:
        typed = contacts._plan(regions[0]).typed
        return typed is not None and typed.fullmatch(nsn) is not None
    for region in regions:
        plan = contacts._plan(region)
        if plan.leading is not None:
            if plan.leading.match(nsn):
                return plan.typed is not None and plan.typed.fullmatch(nsn) is not None
        elif plan.typed is not None and plan.typed.fullmatch(nsn):
            return True
    return False


def test_numbers_of_a_calling_code_shared_by_regions_are_checked_region_by_region() -> None:
    rng = random.Random(11)
    shared = [c for c, r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items() if len(r) > 1]
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    valid = 0
    for _ in range(40_000):
        code = rng.choice(shared) if rng.random() < 0.7 else rng.choice(codes)
        region = rng.choice(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code])
        example_number = (phonenumbers.example_number(region) if region != "001" else None)
        digits = (str(example_number.national_number) if example_number is not None
                  else "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 12))))
        digits = "".join(d if rng.random() < 0.8 else rng.choice("0123456789") for d in digits)
        text = f"+{code}{digits}"
        if not re.fullmatch(r"\+[1-9]\d{6,14}", text):
            continue
        quick = contacts._e164_valid(text)
        assert quick == _plain_e164_valid(text), text
        valid += bool(quick)
    assert valid > 5_000


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.binary(min_size=1, max_size=80))
def test_the_suppression_digest_of_many_is_the_digest_of_one(address: str, key: bytes) -> None:
    try:
        address.strip().lower().encode()
    except UnicodeEncodeError:
        return  # a lone surrogate: refused alike (no such address is read from a file)
    assert address_hasher(key)(address) == address_hash(address, key) == hmac.digest(
        key, address.strip().lower().encode(), "sha256").hex()


# -- the binary COPY's text and integer columns ---------------------------------------------


def _field(value: object, oid: int) -> bytes:
    if value is None:
        return struct.pack(">i", -1)
    if oid == 1043:
        data = str(value).encode()
        return struct.pack(">i", len(data)) + data
    width = {21: "h", 23: "i", 20: "q"}[oid]
    return struct.pack(f">i{width}", struct.calcsize(width), value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=6)),
                          st.one_of(st.none(), st.text(alphabet="ab,", max_size=4)),
                          st.one_of(st.none(), st.integers(-2**15, 2**15 - 1)),
                          st.integers(-2**31, 2**31 - 1),
                          st.one_of(st.none(), st.integers(-2**63, 2**63 - 1))),
                min_size=1, max_size=12))
def test_text_and_integer_columns_are_written_value_by_value(
        rows: list[tuple[object, ...]]) -> None:
    types = {"t": 1043, "u": 1043, "s": 21, "i": 23, "b": 20}
    for t, *_ in rows:
        try:
            str(t).encode()
        except UnicodeEncodeError:
            return
    columns = dict(zip(types, zip(*rows, strict=True), strict=True))
    block = encode(columns, types, (), 0, len(rows))
    want = b"".join(struct.pack(">h", len(types)) + b"".join(
        _field(v, oid) for v, oid in zip(row, types.values(), strict=True)) for row in rows)
    assert block == HEADER + want + TRAILER
    lists = {name: list(values) for name, values in columns.items()}
    assert encode(lists, types, (), 0, len(rows)) == block
