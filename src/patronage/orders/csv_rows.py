"""Reading an import's CSV file a chunk of rows at a time, in constant memory.

The file is read line by line (never whole): each line is decoded as UTF-8 on its own, so a
byte that is not UTF-8 is named with its line, and a UTF-16 file is recognised by its byte order
mark. The header is checked first (missing, unknown and repeated columns); then every row is
checked for what needs no other row: extra values, required cells, NUL characters, and text
longer than the database column it goes to (the same limits on SQLite and PostgreSQL). A line
without quotes is split at its commas here, as the CSV reader would split it, and a row with no
cell to clean or refuse is made without looking at each cell (most rows of most files); other
lines go to the CSV reader, other rows are checked a cell at a time, with the same results.

Cells come back stripped, a spreadsheet-safe quote taken off (:func:`unquote_cell`), blank as
``None``. Problems are collected in :class:`Findings`, which keeps the first
:data:`MAX_PROBLEMS` and counts the rest, so a file bad on every line still takes bounded memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import gt, itemgetter
from pathlib import Path
from typing import BinaryIO

from patronage.csv_cells import FORMULA_STARTS
from patronage.errors import Problem

#: Rows read, checked and written to the store at a time.
CHUNK_ROWS = 5_000
#: Problems listed by name; more are counted.
MAX_PROBLEMS = 1_000

_QUOTED = "".join(FORMULA_STARTS)
#: A cell starting or ending with one of these needs :func:`_cell`'s work; others are kept.
_EDGES = frozenset(" \t\r\n\v\f'")


@dataclass
class Findings:
    """The problems found so far (the first :data:`MAX_PROBLEMS`, the rest counted)."""

    listed: list[Problem] = field(default_factory=list)
    more: int = 0

    def add(self, place: str, reason: str) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(Problem(place, reason))
        else:
            self.more += 1

    def cell(self, line: int, column: str, reason: str) -> None:
        self.add(f"line {line}, column {column}", reason)

    @property
    def any(self) -> bool:
        return bool(self.listed)

    @property
    def full(self) -> bool:
        return len(self.listed) >= MAX_PROBLEMS

    def problems(self) -> list[Problem]:
        """The problems in the order of the file's lines (found in several passes)."""
        ordered = sorted(self.listed, key=_line_of)
        if not self.more:
            return ordered
        return [*ordered, Problem("(more)", f"{self.more} more problem(s) not listed")]


def _line_of(problem: Problem) -> int:
    number = problem.place.removeprefix("line ").split(",", 1)[0].split(" ", 1)[0]
    return int(number) if number.isdigit() else 0


@dataclass
class Row:
    """One data row: its first line in the file, its cells in the import's column order
    (``None``: blank or absent), and whether a problem was already found on it."""

    line: int
    cells: list[str | None]
    ok: bool = True


def _cell(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    if len(text) > 1 and text[0] == "'" and text[1] in _QUOTED:
        return text[1:]
    return text


def _lines(stream: BinaryIO, found: Findings) -> Iterator[str]:
    """The file's lines as text; a line that is not UTF-8 is a problem and ends the reading."""
    first = True
    for number, raw in enumerate(stream, start=1):
        if first:
            first = False
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                found.add("line 1", "the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
                return
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            found.add(f"line {number}", f"byte 0x{raw[exc.start]:02x} is not UTF-8 (the file "
                      "looks like Latin-1 or Windows-1252); save it as UTF-8 (CSV UTF-8)")
            return


def count_lines(source: Path | str) -> int:
    """How many lines the file holds (read in blocks, not kept): a progress bar's total."""
    if isinstance(source, str):
        return source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    total = 0
    last = b"\n"
    with source.open("rb") as stream:
        while block := stream.read(1 << 20):
            total += block.count(b"\n")
            last = block[-1:]
    return total + (0 if last == b"\n" else 1)


def read_rows(source: Path | str, columns: list[str], required: Iterable[str],
              limits: Mapping[str, int], found: Findings,
              chunk: int = CHUNK_ROWS) -> Iterator[list[Row]]:
    """The file's data rows in lists of up to ``chunk``, each row checked on its own (see the
    module's description); header problems are recorded and no row is given."""
    if isinstance(source, Path):
        with source.open("rb") as stream:
            yield from _chunks(_lines(stream, found), columns, required, limits, found,
                               chunk)
    else:
        text = source.removeprefix("\ufeff")
        yield from _chunks(io.StringIO(text, newline=""), columns, required, limits, found,
                           chunk)


def _chunks(lines: Iterable[str], columns: list[str], required: Iterable[str],
            limits: Mapping[str, int], found: Findings, chunk: int) -> Iterator[list[Row]]:
    source = iter(lines)
    back: list[str] = []  # a line handed back for the CSV reader (see _records)

    def fed() -> Iterator[str]:
        while True:
            if back:
                yield back.pop()
            else:
                line = next(source, None)
                if line is None:
                    return
                yield line

    reader = csv.reader(fed())
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
    shape = _Shape(columns, header, required, limits)
    plain, row = shape.plain, shape.row
    longest = csv.field_size_limit()
    number = reader.line_num  # lines read so far; a row's number is its last line's
    rows: list[Row] = []
    for line in source:
        # A line without quotes (nor a NUL or a line break inside, nor a value the CSV
        # reader would refuse as too long) holds its values between the commas: split here,
        # as the CSV reader would split it (its own work costs more than the rest of a row);
        # the CSV reader ends a row at its first line break and passes over those after it.
        body = line.rstrip("\r\n")
        if ('"' not in body and "\r" not in body and "\n" not in body and "\x00" not in body
                and len(body) < longest):
            number += 1
            if not body:
                continue
            values = body.split(",")
            made = plain(values, body, number)
            rows.append(row(values, number, found) if made is None else made)
        else:
            back.append(line)
            before = reader.line_num
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                found.add(f"line {number + reader.line_num - before}",
                          f"not readable as CSV: {exc}")
                break
            number += reader.line_num - before
            if not values:
                continue
            rows.append(row(values, number, found))
        if len(rows) >= chunk:
            yield rows
            rows = []
    if rows:
        yield rows


class _Shape:
    """How a file's rows become :class:`Row` s: per import column its position in the file,
    name and limit, and the checks of :meth:`row`; :meth:`plain` makes the common row (no
    cell to clean or refuse) with less work."""

    def __init__(self, columns: list[str], header: list[str], required: Iterable[str],
                 limits: Mapping[str, int]) -> None:
        self.width = width = len(header)
        # Per import column in the file: its position here and in the file, name and limit.
        self.plan = [(i, header.index(c), c, limits.get(c))
                     for i, c in enumerate(columns) if c in header]
        self.needed = [(columns.index(c), c) for c in required]
        self.blank: list[str | None] = [None] * len(columns)
        # The file's values in the import's order (a column not in the file: the blank added
        # after the values), those with a limit, the limits, and the required ones.
        self.pick = itemgetter(*[header.index(c) if c in header else width
                                 for c in columns], width)
        limited = [i for i, _, _, limit in self.plan if limit is not None]
        self.limited = itemgetter(*limited, len(columns))
        self.limits = (*[limit for _, _, _, limit in self.plan if limit is not None], 0)
        self.required = itemgetter(*[i for i, _ in self.needed], len(columns))

    def plain(self, values: list[str], text: str, line: int) -> Row | None:
        """The row of ``values`` (split from the line's ``text``) when no cell of it is to be
        cleaned or refused, nor a required one blank; else ``None`` (:meth:`row`'s work)."""
        if (len(values) != self.width or "'" in text or ", " in text or " ," in text
                or "\t" in text or "\x0b" in text or "\x0c" in text
                or text[0] == " " or text[-1] == " "):
            return None  # no cell starts or ends with one of _EDGES
        values.append("")
        picked = self.pick(values)
        values.pop()
        if any(map(gt, map(len, self.limited(picked)), self.limits)):
            return None
        cells: list[str | None] = [value or None for value in picked]
        if None in self.required(cells)[:-1]:
            return None
        cells.pop()
        return Row(line, cells)

    def row(self, values: list[str], line: int, found: Findings) -> Row:
        """One row's cells, checked and cleaned a cell at a time."""
        have = len(values)
        cells = self.blank.copy()
        row = Row(line, cells)
        refused: set[int] = set()
        if have > self.width:
            row.ok = False
            found.cell(line, "(row)", f"{have} values for {self.width} columns")
        for i, w, column, limit in self.plan:
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
            row.ok = False  # the cell is not staged: the row is refused already
            refused.add(i)
        for i, column in self.needed:
            if cells[i] is None and i not in refused:
                row.ok = False
                found.cell(line, column, "is required")
        return row
