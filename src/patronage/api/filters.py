"""Filters of the API's list endpoints, written once: each query parameter the caller gave
becomes a condition, each one left out (``None``) none.

    query = filtered(select(Touch), equal(Touch.channel, channel),
                     at_least(Touch.due_at, due_from), before(Touch.due_at, due_to))
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_

Condition = ColumnElement[bool] | None
S = TypeVar("S", bound=Select[Any])


def filtered(query: S, *conditions: Condition) -> S:
    """``query`` with every condition given (``None``: a filter the caller left out)."""
    for condition in conditions:
        if condition is not None:
            query = query.where(condition)
    return query


def equal(column: Any, value: object | None) -> Condition:
    """``column = value``, when ``value`` was given."""
    return None if value is None else column == value


def among(column: Any, values: Collection[Any] | Any | None) -> Condition:
    """``column IN values`` (a collection or a subquery), when there is a limit to apply."""
    return None if values is None else column.in_(values)


def at_least(column: Any, value: object | None) -> Condition:
    """``column >= value`` (a range's inclusive start), when given."""
    return None if value is None else column >= value


def before(column: Any, value: object | None) -> Condition:
    """``column < value`` (a range's exclusive end), when given."""
    return None if value is None else column < value


def starts_with(columns: Collection[Any], text: str | None) -> Condition:
    """Any of ``columns`` starts with ``text`` (case-insensitive; ``%`` and ``_`` taken
    literally), when ``text`` is given and not empty."""
    if not text:
        return None
    like = text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    return or_(*(column.ilike(like, escape="\\") for column in columns))
