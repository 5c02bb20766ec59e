"""Spreadsheet-safe CSV cells.

A spreadsheet opens a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula (CSV injection). Every CSV the product writes passes its text through
:func:`safe_cell`, which puts a single quote before such a text, as the OWASP guidance on CSV
injection advises; plain numbers (``-3.50``) are left as they are, since a spreadsheet reads them as
numbers. The importers read a cell back through :func:`unquote_cell`, so an exported file imports
with the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` when it is a text a spreadsheet would run as a formula."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def unquote_cell(text: str) -> str:
    """The text :func:`safe_cell` protected, without its quote; any other text unchanged."""
    if len(text) > 1 and text[0] == "'" and text[1] in "".join(FORMULA_STARTS):
        return text[1:]
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def safe_mapping(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}
