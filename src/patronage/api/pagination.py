"""Pages of a list: ``limit`` (at most :data:`MAX_LIMIT`) and ``offset``, with a ``next`` link.

One row more than asked is read to know whether there is a next page; no total is counted (on a
company of a million members a count would cost more than the page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session

from patronage.api.types import MAX_OFFSET

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
Row = TypeVar("Row")


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next: str | None = None


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
    = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


def next_link(request: Request, params: PageParams, more: bool) -> str | None:
    if not more:
        return None
    return str(request.url.include_query_params(offset=params.offset + params.limit,
                                                limit=params.limit))


def paginate(session: Session, request: Request, query: Select[Any], params: PageParams,
             convert: Callable[[Any], T]) -> Page[T]:
    """Run ``query`` (already ordered) for one page; ``convert`` turns a row into an item."""
    rows: Sequence[Any] = session.scalars(
        query.limit(params.limit + 1).offset(params.offset)).all()
    more = len(rows) > params.limit
    return Page[T](items=[convert(r) for r in rows[: params.limit]], limit=params.limit,
                   offset=params.offset, next=next_link(request, params, more))
