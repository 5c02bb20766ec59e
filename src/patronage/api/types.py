"""The shapes the API accepts, declared once so the schema says what the server enforces.

- :data:`Id`: a record id (:mod:`patronage.bounds`, shared with the web pages); a larger number
  is refused with 422, never sent to the database;
- :data:`Offset`, :data:`Count`: bounded non-negative integers;
- :func:`text`: a string of at most a column's length, without NUL bytes (PostgreSQL refuses
  them); :class:`In` refuses NUL bytes in every string of a request body;
- :data:`StrictBool`: ``true`` or ``false`` only (``0`` and ``1`` are refused);
- :data:`IsoDatetime`, :data:`IsoAwareDatetime`, :data:`IsoDate`: ISO 8601 text only (a bare
  number is not taken as a Unix timestamp);
- :data:`PeriodText`: a month written YYYY-MM, years :data:`~patronage.clock.MIN_YEAR` to
  :data:`~patronage.clock.MAX_YEAR`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    field_validator,
)

from patronage.bounds import Id as Id
from patronage.bounds import length_of as length_of

MAX_OFFSET = 10**9

Offset = Annotated[int, Ge(0), Le(MAX_OFFSET)]
Count = Annotated[int, Ge(0), Le(2**31 - 1)]
StrictBool = Annotated[bool, Strict()]
PERIOD_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"  # 2000-01 to 2100-12

_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL byte; text may not")
    return value


def _iso_only(value: Any) -> Any:
    if isinstance(value, bool | int | float) or (
            isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("write a date in ISO 8601 (e.g. 2026-10-15T09:00:00Z), not a number")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
IsoDate = Annotated[date, BeforeValidator(_iso_only)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]
PeriodText = Annotated[str, StringConstraints(pattern=PERIOD_PATTERN)]
#: A month (YYYY-MM) or an ISO week (YYYY-Www, 2000-W01 to 2100-W53; a week a year lacks, such
#: as 2027-W53, is refused by the service, 422).
RUN_PERIOD_PATTERN = r"^(20[0-9]{2}|2100)-((0[1-9]|1[0-2])|W(0[1-9]|[1-4][0-9]|5[0-3]))$"
RunPeriodText = Annotated[str, StringConstraints(pattern=RUN_PERIOD_PATTERN)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    return False


#: What every free-text string of a request body matches: anything but a NUL character.
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _declare_no_nul(schema: dict[str, Any]) -> None:
    """Say in the schema what :class:`In` enforces: a plain string property (no pattern, format
    or fixed values of its own) matches :data:`NO_NUL_PATTERN`."""
    properties = schema.get("properties", {})
    for prop in properties.values() if isinstance(properties, dict) else ():
        for option in (prop, *prop.get("anyOf", ())):
            if option.get("type") == "string" and not {"pattern", "format", "enum",
                                                       "const"} & option.keys():
                option["pattern"] = NO_NUL_PATTERN


class In(BaseModel):
    """A request body: no string in it may hold a NUL byte (and the schema says so)."""

    model_config = ConfigDict(json_schema_extra=_declare_no_nul)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_bytes(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("contains a NUL byte; text may not")
        return value
