"""The numbers a request may carry, bounded once for both faces (the REST API and the web pages).

- :data:`Id`: a record id, 1 to 2^31 - 1, the range of the id columns (32-bit integers on
  PostgreSQL); a larger number is refused, never sent to the database;
- :data:`PageNumber`: a page (or level) number of a web listing.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL

Id = Annotated[int, Ge(1), Le(MAX_ID)]
# The pages clamp a page (or level) number to what exists; the bounds only keep it within what
# the database can take.
PageNumber = Annotated[int, Ge(-(10**6)), Le(10**6)]
