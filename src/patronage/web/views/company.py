"""Company searches: members and orders, paginated by keyset-friendly indexed queries.

Member search takes a member id, a ref or an email exactly, a phone number (as typed, in E.164
read in the company's default market, or as bare digits: ``ix_members_phone``), or a name: the
start of a first or last name, or a first name and the start of the last name (indexed ranges);
it
fetches one row more than a page to know whether there is a next page (no full count over the
whole company).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from patronage.access import Principal, visible_members_query
from patronage.bounds import MAX_ID
from patronage.db.tables import ORDER_SOURCES, Member, Order
from patronage.errors import PatronageError
from patronage.web.views.staff import phone_keys

PAGE_SIZE = 25


@dataclass
class SearchPage:
    rows: list[Any]
    page: int
    has_next: bool
    query: str


def _starts(column: Any, text: str) -> Any:
    """``column`` starts with ``text`` capitalised as names are stored: a range on the
    column's index, with LIKE keeping exactly the names that start with it."""
    prefix = text[:1].upper() + text[1:]
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < after,
                column.like(_escape(prefix) + "%", escape="\\"))


def search_members(session: Session, principal: Principal, query: str, *,
                   page: int = 1, kind: str = "", region: str | None = None) -> SearchPage:
    """Members the principal may see that match ``query``; ``region``: the country a phone
    number typed without its country code is read in."""
    q = visible_members_query(principal)
    text = " ".join(query.split())
    order: list[Any] = [Member.id]
    phones = phone_keys(text, region)
    if text.isdigit():
        # An id only within the id columns' range (a phone number is not one).
        by_id = [Member.id == int(text)] if int(text) <= MAX_ID else []
        q = q.where(or_(*by_id, Member.ref == text,
                        *([Member.phone.in_(phones)] if phones else [])))
    elif "@" in text:
        q = q.where(func.lower(Member.email) == text.lower())
    elif text and (ref := session.scalar(select(Member.id).where(Member.ref == text))):
        q = q.where(Member.id == ref)
    elif phones:
        q = q.where(Member.phone.in_(phones))
    elif " " in text:
        first, last = text.split(" ", 1)
        q = q.where(Member.first_name == first[:1].upper() + first[1:],
                    _starts(Member.last_name, last))
        order = [Member.last_name, Member.id]
    elif text:
        q = q.where(or_(_starts(Member.first_name, text), _starts(Member.last_name, text)))
        order = [Member.first_name, Member.last_name, Member.id]
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
