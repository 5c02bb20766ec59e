"""Company searches: members and orders, paginated by keyset-friendly indexed queries.

Member search takes a member id, a ref or an email exactly, or the start of a first name (an
indexed range); it
fetches one row more than a page to know whether there is a next page (no full count over the
whole company).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from patronage.access import Principal, visible_members_query
from patronage.db.tables import ORDER_SOURCES, Member, Order
from patronage.errors import PatronageError

PAGE_SIZE = 25


@dataclass
class SearchPage:
    rows: list[Any]
    page: int
    has_next: bool
    query: str


def search_members(session: Session, principal: Principal, query: str, *,
                   page: int = 1, kind: str = "") -> SearchPage:
    q = visible_members_query(principal)
    text = query.strip()
    order: list[Any] = [Member.id]
    if text.isdigit():
        q = q.where(or_(Member.id == int(text), Member.ref == text))
    elif "@" in text:
        q = q.where(func.lower(Member.email) == text.lower())
    elif text and (ref := session.scalar(select(Member.id).where(Member.ref == text))):
        q = q.where(Member.id == ref)
    elif text:
        # The start of a first name, capitalised as names are stored: a range on the
        # (first_name, id) index, with LIKE keeping exactly the names that start with it.
        prefix = text[:1].upper() + text[1:]
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        q = q.where(Member.first_name >= prefix, Member.first_name < after,
                    Member.first_name.like(_escape(prefix) + "%", escape="\\"))
        order = [Member.first_name, Member.id]
    if kind:
        q = q.where(Member.kind == kind)
    page = max(1, page)
    rows = list(session.scalars(q.order_by(*order).limit(PAGE_SIZE + 1)
                                .offset((page - 1) * PAGE_SIZE)))
    return SearchPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE, text)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_orders(session: Session, *, buyer: str = "", source: str = "",
                  since: datetime | None = None, until: datetime | None = None,
                  page: int = 1) -> SearchPage:
    """Orders newest first, by buyer id, source and time range."""
    q = select(Order)
    if buyer.strip():
        if not buyer.strip().isdigit():
            raise PatronageError(f"buyer: {buyer!r} is not a member id")
        q = q.where(Order.buyer_id == int(buyer))
    if source:
        if source not in ORDER_SOURCES:
            raise PatronageError(f"source: {source!r} is not one of {', '.join(ORDER_SOURCES)}")
        q = q.where(Order.source == source)
    if since is not None:
        q = q.where(Order.placed_at >= since)
    if until is not None:
        q = q.where(Order.placed_at < until)
    page = max(1, page)
    rows = list(session.scalars(q.order_by(Order.placed_at.desc(), Order.id.desc())
                                .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    return SearchPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE, buyer)
