"""Reading many rows as few values: several small integer fields packed into each 64-bit value.

Most of a large read's time is spent making one driver value per field, so the genealogy and
the order lines are read with ids, codes and a time packed into each 64-bit value by SQL
arithmetic, unpacked with numpy shifts and masks. Packing needs every id below 2**31 - 1
(always so on PostgreSQL, whose id columns are 32-bit; see :func:`fits`); otherwise each field
is read as a value of its own, from the same :class:`Word` list.

A text code (a kind, a status) is read as the code point of its first letter and mapped back
by a table from :func:`letter_codes`, which refuses codes whose first letters are not distinct
ASCII letters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from patronage.arrays import I64, Matrix

ID_BITS = 31
CHAR_BITS = 7  # a text code is read as the code point of its first letter


@dataclass(frozen=True)
class Word:
    """Fields packed high to low into one value: (SQL, bits). The first field takes the bits
    left (its own count is not used) and may be negative; the others are in ``0 .. 2**bits``."""

    fields: tuple[tuple[str, int], ...]


def first_letter(conn: Connection, column: str) -> str:
    """SQL for the code point of the first letter of ``column``."""
    return f"unicode({column})" if conn.dialect.name == "sqlite" else f"ascii({column})"


def letter_codes(codes: Mapping[str, int]) -> I64:
    """Code point of a value's first letter → its code (-1 for anything else). Refused
    (``ValueError``) when two values share a first letter or one does not start with an ASCII
    character: the packed read could not tell them apart."""
    table = np.full(2**CHAR_BITS, -1, dtype=np.int64)
    seen: dict[str, str] = {}
    for value, code in codes.items():
        letter = value[:1]
        if not letter or ord(letter) >= 2**CHAR_BITS:
            raise ValueError(f"packed code {value!r}: it must start with an ASCII character "
                             "(its first letter is what a packed read carries)")
        if letter in seen:
            raise ValueError(f"packed codes {seen[letter]!r} and {value!r} start with the same "
                             f"letter {letter!r}: a packed read could not tell them apart")
        seen[letter] = value
        table[ord(letter)] = code
    return table


def fits(largest_ids: tuple[int, ...]) -> bool:
    """Whether every id a packed read holds (``largest_ids``: the largest ones) is below
    2**31 - 1."""
    return all(v < 2**ID_BITS - 1 for v in largest_ids)


def width(words: list[Word], packed: bool) -> int:
    """The number of columns :func:`select` reads."""
    return len(words) if packed else sum(len(w.fields) for w in words)


def select(words: list[Word], packed: bool) -> str:
    """The SELECT list reading ``words``: one value per word when ``packed``, else one per
    field."""
    if not packed:
        return ", ".join(sql for w in words for sql, _ in w.fields)
    out = []
    for w in words:
        shift, terms = 0, []
        for sql, bits in reversed(w.fields):
            terms.append(f"({sql})" if shift == 0 else f"({sql}) * {2**shift}")
            shift += bits
        out.append(" + ".join(reversed(terms)))
    return ", ".join(out)


def unpack(m: Matrix, words: list[Word], packed: bool) -> list[np.ndarray[Any, Any]]:
    """The fields of ``words`` as arrays, in order, from a matrix :func:`select` read."""
    columns = [m[:, i] for i in range(m.shape[1])]
    if not packed:
        return [c.copy() for c in columns]
    out: list[np.ndarray[Any, Any]] = []
    for w, value in zip(words, columns, strict=True):
        shift = sum(bits for _, bits in w.fields[1:])
        # The top field: an arithmetic shift keeps its sign (and makes a contiguous copy).
        out.append(value >> shift if shift else value.copy())
        for _, bits in w.fields[1:]:
            shift -= bits
            out.append((value >> shift) & (2**bits - 1))
    return out
