"""A distributor's customers: the list, one customer's page, today's tasks and birthdays.

Every query is keyed by the owner (``members.owner_id``, indexed) or by one member already
checked with :func:`patronage.access.require_member`; lists are paginated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from patronage.care.channels.cards import batch_prefix, postal_address
from patronage.db.autoship import Subscription, SubscriptionItem
from patronage.db.care import CardBatchRecord, MemberNote, Touch
from patronage.db.tables import Member, Order, Product
from patronage.db.value import CustomerValue, ValueRun
from patronage.errors import PatronageError
from patronage.network import members
from patronage.value.core.customers import risk_words
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
    #: the currency of the values: the customer's market's (``None``: the plan currency,
    #: for runs made before markets)
    currency: str | None = None
    #: why the value is at risk, in words
    risk_reasons: list[str] = field(default_factory=list)
    #: customers this one referred who ordered this month (toward "3 for free")
    friends_ordering: int = 0


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    page: int
    pages: int
    query: str
    show: str = "all"


#: The filters of the list: all, at risk, on autoship, birthday this month, no personal touch
#: in ``quiet_days`` days, close to "3 for free" (some, not yet all, of the friends they
#: referred ordered this month).
FILTERS = ("all", "at_risk", "autoship", "birthday", "quiet", "free")
#: Friends who order in a month for the customer's "3 for free".
FREE_REFERRALS = 3


def _month(now: datetime, tz: tzinfo) -> tuple[datetime, datetime, int]:
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    end = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz)
    return start, end, local.month


def _friends_ordering(start: datetime, end: datetime) -> Any:
    """(referrer, friends who ordered in [start, end)) of every referrer."""
    friend = aliased(Member)
    return (select(friend.referrer_id.label("referrer"),
                   func.count(func.distinct(friend.id)).label("n"))
            .join(Order, Order.buyer_id == friend.id)
            .where(friend.referrer_id.is_not(None), Order.status == "paid",
                   Order.placed_at >= start, Order.placed_at < end)
            .group_by(friend.referrer_id))


def _filter(show: str, run_id: int | None, now: datetime, tz: tzinfo, quiet_days: int) -> Any:
    if show == "at_risk":
        return Member.id.in_(select(CustomerValue.member_id).where(
            CustomerValue.run_id == (run_id or -1), CustomerValue.value_at_risk > 0))
    if show == "autoship":
        return Member.id.in_(select(Subscription.member_id).where(
            Subscription.status == "active"))
    if show == "birthday":
        return Member.birth_month == _month(now, tz)[2]
    if show == "quiet":
        return Member.id.not_in(select(Touch.member_id).where(
            Touch.status.in_(("sent", "done")),
            func.coalesce(Touch.done_at, Touch.sent_at) >= now - timedelta(days=quiet_days)))
    if show == "free":
        start, end, _m = _month(now, tz)
        counts = _friends_ordering(start, end).subquery()
        return Member.id.in_(select(counts.c.referrer).where(
            counts.c.n >= 1, counts.c.n < FREE_REFERRALS))
    raise PatronageError(f"show: {show!r} is not one of {', '.join(FILTERS)}")


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
                  order: str = "value", show: str = "all", now: datetime | None = None,
                  tz: tzinfo = UTC, quiet_days: int = 30) -> CustomerPage:
    """The owner's customers, 25 a page, most valuable first (or by name, or most at risk);
    ``show`` one of :data:`FILTERS` (all but "all" need ``now``)."""
    where = [Member.owner_id == owner_id, Member.kind != "distributor",
             Member.status != "erased"]
    if query.strip():
        like = f"%{query.strip().lower()}%"
        where.append(func.lower(Member.first_name + " " + Member.last_name).like(like))
    run_id = latest_run_id(session)
    if show != "all":
        if now is None:
            raise PatronageError(f"show: {show!r} needs the time (now)")
        if not 1 <= quiet_days <= 3650:
            raise PatronageError(f"days: {quiet_days} must be between 1 and 3650")
        where.append(_filter(show, run_id, now, tz, quiet_days))
    elif show not in FILTERS:
        raise PatronageError(f"show: {show!r} is not one of {', '.join(FILTERS)}")
    total = session.scalar(select(func.count()).select_from(Member).where(*where)) or 0
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
    friends: dict[int, int] = {}
    if ids and now is not None:
        start, end, _m = _month(now, tz)
        sub = _friends_ordering(start, end).subquery()
        friends = {int(r): int(n) for r, n in session.execute(
            select(sub.c.referrer, sub.c.n).where(sub.c.referrer.in_(ids))).all()}
    out = []
    for m, v in rows:
        out.append(CustomerRow(
            m.id, m.name, m.kind, m.status, m.joined_at, autoship.get(m.id, ("none", None))[0],
            *_local_values(v), {n: float(getattr(v, n)) for n in NAMES} if v else None,
            _aware(touches.get(m.id)), autoship.get(m.id, ("none", None))[1],
            v.currency if v else None,
            risk_words(v.risk_flags) if v and v.value_at_risk > 0 else [],
            friends.get(m.id, 0)))
    return CustomerPage(out, total, page, pages, query, show)


def _local_values(v: CustomerValue | None) -> tuple[int | None, int | None, int | None]:
    """Lifetime, referral and at-risk value in the customer's currency (the plan currency's
    for a run made before markets)."""
    if v is None:
        return None, None, None
    if v.currency is None or v.local_lifetime is None:
        return v.past_value + v.future_value, v.referral_value, v.value_at_risk
    return v.local_lifetime, v.local_referral, v.local_at_risk


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
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
    #: the next open touch for this member (a task, card or message), if any
    next_touch: Touch | None = None
    #: product names by SKU (for the autoship items)
    products: dict[str, str] = field(default_factory=dict)

    @property
    def seven(self) -> list[tuple[str, float, int | None]]:
        """The seven values: (name, score 0–100, amount in minor units where it is money)."""
        v = self.value
        if v is None:
            return []
        amounts = {"consumption": v.future_value, "referral": v.referral_value,
                   "rainmaker": v.rainmaker_amount}
        return [(n, float(getattr(v, n)), amounts.get(n)) for n in NAMES]


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
    next_touch = session.scalars(select(Touch).where(Touch.member_id == member.id,
                                                     Touch.status == "planned")
                                 .order_by(Touch.due_at, Touch.id).limit(1)).first()
    skus = {i.sku for its in items.values() for i in its}
    products = {sku: name for sku, name in session.execute(
        select(Product.sku, Product.name).where(Product.sku.in_(skus))).all()} if skus else {}
    return CustomerDetail(member, value, orders, touches, notes,
                          [(s, items[s.id]) for s in subs], next_touch, products)


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
    mine = select(CardBatchRecord.id).where(
        CardBatchRecord.file_name.like(f"{batch_prefix(owner_id)}%"),
        CardBatchRecord.created_at >= now - timedelta(days=7))
    rows = session.execute(
        select(Touch, Member).join(Member, Member.id == Touch.member_id)
        .where(Touch.owner_id == owner_id, Touch.channel == "card",
               ((Touch.status == "planned") & Touch.card_batch_id.is_(None)
                & (Touch.due_at < now + ahead))
               | ((Touch.status == "sent") & Touch.card_batch_id.in_(mine)))
        .order_by(Touch.status, Touch.due_at, Touch.id).limit(limit)).all()
    return [DueCard(t.id, m.id, m.name, t.occasion, t.due_at, bool(postal_address(m)),
                    t.status == "sent") for t, m in rows]
