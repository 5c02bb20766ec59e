"""The numbers a request may carry, bounded once for both faces (the REST API and the web pages).

- :data:`Id`: a record id, 1 to 2^31 - 1, the range of the id columns (32-bit integers on
  PostgreSQL); a larger number is refused, never sent to the database;
- :data:`PageNumber`: a page (or level) number of a web listing;
- :func:`length_of`: the most characters a text column holds (what both faces accept);
- :data:`REASON_LENGTH`: the most characters of a stated reason (an adjustment, a refusal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from annotated_types import Ge, Le

if TYPE_CHECKING:
    from sqlalchemy import Column
    from sqlalchemy.orm import InstrumentedAttribute

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL

Id = Annotated[int, Ge(1), Le(MAX_ID)]
# The pages clamp a page (or level) number to what exists; the bounds only keep it within what
# the database can take.
PageNumber = Annotated[int, Ge(-(10**6)), Le(10**6)]

REASON_LENGTH = 1000  # reasons are stored as text; a reason is a sentence, not a document


def length_of(column: InstrumentedAttribute[Any] | Column[Any]) -> int:
    """The length of a string column (its ``String(n)``)."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no length")
    return length
