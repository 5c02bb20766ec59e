"""A distributor's customers: the list, one customer's page, today's tasks and birthdays.

Every query is keyed by the owner (``members.owner_id``, indexed) or by one member already
checked with :func:`patronage.access.require_member`; lists are paginated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from patronage.care.channels.cards import postal_address
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.care import MemberNote, Touch
from patronage.db.tables import Member, Order
from patronage.db.value import CustomerValue, ValueRun
from patronage.network import members
from patronage.value.core.seven import NAMES

PAGE_SIZE = 25


@dataclass
class CustomerRow:
    id: int
    name: str
    kind: str
    status: str
    joined_at: datetime
    autoship: str
    lifetime_value: int | None
    referral_value: int | None
    value_at_risk: int | None
    seven: dict[str, float] | None
    last_touch: datetime | None
    #: the next delivery of an active autoship (``autoship`` is then "active")
    next_delivery: date | None = None


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    page: int
    pages: int
    query: str


def latest_run_id(session: Session) -> int | None:
    return session.scalar(select(ValueRun.id).order_by(ValueRun.id.desc()).limit(1))


def _autoship_words(session: Session, ids: list[int]) -> dict[int, tuple[str, date | None]]:
    """Each member's autoship: "active" with its next delivery, else the status of one."""
    out: dict[int, tuple[str, date | None]] = {}
    if not ids:
        return out
    rows = session.execute(select(Subscription.member_id, Subscription.status,
                                  Subscription.next_run)
                           .where(Subscription.member_id.in_(ids))
                           .order_by(Subscription.id)).all()
    for member_id, status, next_run in rows:
        if member_id not in out or status == "active":
            out[member_id] = (status, next_run if status == "active" else None)
    return out


def customer_list(session: Session, owner_id: int, *, page: int = 1, query: str = "",
                  order: str = "value") -> CustomerPage:
    """The owner's customers, 25 a page, most valuable first (or by name, or most at risk)."""
    where = [Member.owner_id == owner_id, Member.kind != "distributor",
             Member.status != "erased"]
    if query.strip():
        like = f"%{query.strip().lower()}%"
        where.append(func.lower(Member.first_name + " " + Member.last_name).like(like))
    total = session.scalar(select(func.count()).select_from(Member).where(*where)) or 0
    run_id = latest_run_id(session)
    value_of = and_(CustomerValue.member_id == Member.id, CustomerValue.run_id == (run_id or -1))
    # The page's ids first, sorted from the indexes alone (owner, kind and status on members;
    # the amounts on a member's values), then only their rows.
    q = select(Member.id).outerjoin(CustomerValue, value_of).where(*where)
    if order == "risk":
        q = q.order_by(CustomerValue.value_at_risk.desc().nulls_last(), Member.id)
    elif order == "name":
        q = q.order_by(Member.first_name, Member.last_name, Member.id)
    else:
        q = q.order_by((CustomerValue.past_value + CustomerValue.future_value
                        + CustomerValue.referral_value).desc().nulls_last(), Member.id)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    ids = list(session.scalars(q.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    found = {m.id: (m, v) for m, v in session.execute(
        select(Member, CustomerValue).outerjoin(CustomerValue, value_of)
        .where(Member.id.in_(ids))).all()} if ids else {}
    rows = [found[i] for i in ids]
    autoship = _autoship_words(session, ids)
    touches: dict[int, datetime] = {}
    if ids:
        touches = {mid: at for mid, at in session.execute(
            select(Touch.member_id, func.max(func.coalesce(Touch.done_at, Touch.sent_at)))
            .where(Touch.member_id.in_(ids), Touch.status.in_(("sent", "done")))
            .group_by(Touch.member_id)).all() if at is not None}
    out = []
    for m, v in rows:
        out.append(CustomerRow(
            m.id, m.name, m.kind, m.status, m.joined_at, autoship.get(m.id, ("none", None))[0],
            v.past_value + v.future_value if v else None, v.referral_value if v else None,
            v.value_at_risk if v else None,
            {n: float(getattr(v, n)) for n in NAMES} if v else None,
            _aware(touches.get(m.id)), autoship.get(m.id, ("none", None))[1]))
    return CustomerPage(out, total, page, pages, query)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


@dataclass
class CustomerDetail:
    member: Member
    value: CustomerValue | None
    orders: list[Order]
    touches: list[Touch]
    notes: list[MemberNote]
    subscriptions: list[tuple[Subscription, list[SubscriptionItem]]] = field(default_factory=list)


def customer_detail(session: Session, member: Member, *, history: int = 20) -> CustomerDetail:
    """One member's page: values, recent orders, touches, notes and autoships."""
    run_id = latest_run_id(session)
    value = session.get(CustomerValue, (run_id, member.id)) if run_id else None
    orders = list(session.scalars(select(Order).where(Order.buyer_id == member.id)
                                  .order_by(Order.placed_at.desc()).limit(history)))
    touches = list(session.scalars(select(Touch).where(Touch.member_id == member.id)
                                   .order_by(Touch.due_at.desc()).limit(history)))
    notes = list(session.scalars(select(MemberNote).where(MemberNote.member_id == member.id)
                                 .order_by(MemberNote.at.desc()).limit(history)))
    subs = list(session.scalars(select(Subscription).where(Subscription.member_id == member.id)
                                .order_by(Subscription.id)))
    items = {s.id: [] for s in subs}  # type: dict[int, list[SubscriptionItem]]
    if subs:
        for item in session.scalars(select(SubscriptionItem).where(
                SubscriptionItem.subscription_id.in_(list(items)))):
            items[item.subscription_id].append(item)
    return CustomerDetail(member, value, orders, touches, notes,
                          [(s, items[s.id]) for s in subs])


def add_note(session: Session, member_id: int, body: str, *, author: str,
             now: datetime) -> MemberNote:
    return members.add_note(session, member_id, body, author=author, now=now)


@dataclass
class Birthday:
    member_id: int
    name: str
    on: date
    age: int | None


def upcoming_birthdays(session: Session, owner_id: int, now: datetime, tz: tzinfo, *,
                       days: int = 14) -> list[Birthday]:
    """The owner's customers with a birthday in the next ``days`` days (in ``tz``); a
    February 29 birthday falls on February 28 in other years."""
    today = now.astimezone(tz).date()
    window = [today + timedelta(days=i) for i in range(days + 1)]
    months = sorted({d.month for d in window})
    rows = session.execute(select(Member.id, Member.first_name, Member.last_name,
                                  Member.birth_month, Member.birth_day, Member.birth_year)
                           .where(Member.owner_id == owner_id, Member.kind != "distributor",
                                  Member.status == "active", Member.birth_month.in_(months))
                           ).all()
    out = []
    for mid, first, last, month, day, year in rows:
        for d in window:
            leap_shift = (month, day) == (2, 29) and (d.month, d.day) == (2, 28) and not _leap(
                d.year)
            if (d.month, d.day) == (month, day) or leap_shift:
                out.append(Birthday(mid, f"{first} {last}".strip(), d,
                                    d.year - year if year else None))
                break
    return sorted(out, key=lambda b: (b.on, b.name))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass
class DueCard:
    touch_id: int
    member_id: int
    name: str
    occasion: str
    due_at: datetime
    has_address: bool
    printed: bool


def due_cards(session: Session, owner_id: int, now: datetime, *,
              ahead: timedelta = timedelta(days=14), limit: int = 200) -> list[DueCard]:
    """The owner's open cards due before ``now + ahead`` (not in a company batch), soonest
    first, and the ones they printed in the last week (to print again)."""
    rows = session.execute(
        select(Touch, Member).join(Member, Member.id == Touch.member_id)
        .where(Touch.owner_id == owner_id, Touch.channel == "card",
               ((Touch.status == "planned") & Touch.card_batch_id.is_(None)
                & (Touch.due_at < now + ahead))
               | ((Touch.status == "sent") & (Touch.sent_at >= now - timedelta(days=7))))
        .order_by(Touch.status, Touch.due_at, Touch.id).limit(limit)).all()
    return [DueCard(t.id, m.id, m.name, t.occasion, t.due_at, bool(postal_address(m)),
                    t.status == "sent") for t, m in rows]
