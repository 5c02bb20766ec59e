"""Reading an import's CSV file a chunk of rows at a time, in constant memory.

The file is read line by line (never whole): each line is decoded as UTF-8 on its own, so a
byte that is not UTF-8 is named with its line, and a UTF-16 file is recognised by its byte order
mark. The header is checked first (missing, unknown and repeated columns); then every row is
checked for what needs no other row: extra values, required cells, NUL characters, and text
longer than the database column it goes to (the same limits on SQLite and PostgreSQL).

Cells come back stripped, a spreadsheet-safe quote taken off (:func:`unquote_cell`), blank as
``None``. Problems are collected in :class:`Findings`, which keeps the first
:data:`MAX_PROBLEMS` and counts the rest, so a file bad on every line still takes bounded memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
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
    # Per import column in the file: its position here and in the file, its name and limit.
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
        line = reader.line_num  # a row's last line, as spreadsheets number a quoted break
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
            row.ok = False  # the cell is not staged: the row is refused already
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
