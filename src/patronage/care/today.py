"""A distributor's Today: the few touches most worth making now, and what they do with them.

The open tasks and cards of the distributor (due by tomorrow, not snoozed) are ranked by
:mod:`patronage.care.core.today` and cut to the company's limit (``today_limit``). A personal
occasion (birthday, anniversary, holiday) more than ``occasion_grace_days`` past its day
*expires*: its touch gets the status ``expired`` (counted on the page) instead of piling up.

On each item the distributor may:

- mark it **done** (a task: :func:`patronage.care.tasks.mark_done`);
- **snooze** it to tomorrow (``snoozed_until``; it comes back then, ranked again);
- say **not now**: the touch is dropped with the reason ``not now``, and is not made;
- write a **personal note** to the member (:func:`personal_note`): checked against the
  company's forbidden phrases first, and refused with the phrase and the reason.

Each action is idempotent: repeating it changes nothing; it refuses a touch that is not the
distributor's (as not found, so ids cannot be probed) or no longer open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from patronage import audit
from patronage.care.channels.cards import batch_prefix
from patronage.care.core import today as core
from patronage.care.core.occasions import WORDS
from patronage.care.tasks import task_line
from patronage.clock import require_aware
from patronage.compliance.claims import company_claims
from patronage.compliance.core.claims import claim_problems
from patronage.config import Settings
from patronage.db.care import CardBatchRecord, Touch
from patronage.db.tables import Member
from patronage.db.value import CustomerValue, ValueRun
from patronage.errors import N_, Conflict, NotFound, Problem, Problems

#: Touches due up to this long after now are on Today already.
AHEAD = timedelta(days=1)
CHANNELS = ("task", "card")
NOT_NOW = "not now (the distributor)"
EXPIRED = "expired: the day passed"


@dataclass(frozen=True)
class TodayItem:
    touch_id: int
    member_id: int
    name: str
    occasion: str
    channel: str
    due_at: datetime
    worth: int
    days_late: int
    value_at_risk: int
    line: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class TodayCounts:
    shown: int
    more: int
    done_today: int
    snoozed: int
    expired: int


@dataclass(frozen=True)
class TodayList:
    items: list[TodayItem]
    counts: TodayCounts


def expire_passed(session: Session, owner_id: int, now: datetime, *, grace_days: int) -> int:
    """Expire the owner's open personal-occasion touches more than ``grace_days`` past their
    day; how many."""
    require_aware(now, place="now")
    if grace_days < 0:
        raise ValueError(f"grace_days: {grace_days} must not be negative")
    result = session.execute(
        update(Touch).where(Touch.owner_id == owner_id, Touch.status == "planned",
                            Touch.channel.in_(CHANNELS), Touch.occasion.in_(core.PERSONAL),
                            Touch.card_batch_id.is_(None),
                            Touch.due_at < now - timedelta(days=grace_days))
        .values(status="expired", drop_reason=EXPIRED)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def _utc(value: datetime | str) -> datetime:
    """A stored time as an aware UTC datetime (plain column reads bypass the column type on
    some drivers)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _latest_run(session: Session) -> int:
    return session.scalar(select(func.max(ValueRun.id))) or -1


def today_list(session: Session, owner_id: int, now: datetime, *, settings: Settings,
               tz: tzinfo) -> TodayList:
    """Expire what has passed, then the owner's day: at most ``settings.today_limit`` items,
    the most worth first, with the counts (done today in ``tz``, snoozed, expired)."""
    require_aware(now, place="now")
    expire_passed(session, owner_id, now, grace_days=settings.occasion_grace_days)
    value_of = and_(CustomerValue.member_id == Touch.member_id,
                    CustomerValue.run_id == _latest_run(session))
    # The candidates as plain columns (a busy distributor has hundreds); whole records only
    # for the few shown.
    rows = session.execute(
        select(Touch.id, Touch.occasion, Touch.due_at, Touch.priority,
               CustomerValue.value_at_risk)
        .outerjoin(CustomerValue, value_of)
        .where(Touch.owner_id == owner_id, Touch.status == "planned",
               Touch.channel.in_(CHANNELS), Touch.due_at < now + AHEAD,
               Touch.card_batch_id.is_(None),
               or_(Touch.snoozed_until.is_(None), Touch.snoozed_until <= now))).all()
    day = core.rank([core.Candidate(int(i), occasion, _utc(due), int(var or 0), int(pri or 0))
                     for i, occasion, due, pri, var in rows], now,
                    limit=settings.today_limit, grace_days=settings.occasion_grace_days)
    shown = [r.candidate.key for r in day.items]
    found = {t.id: (t, m) for t, m in session.execute(
        select(Touch, Member).join(Member, Member.id == Touch.member_id)
        .where(Touch.id.in_(shown))).all()} if shown else {}
    items = []
    for r in day.items:
        touch, member = found[r.candidate.key]
        line = (task_line(session, touch, now, settings=settings) if touch.channel == "task"
                else touch.summary or WORDS.get(touch.occasion, touch.occasion))
        items.append(TodayItem(touch.id, member.id, member.name, touch.occasion, touch.channel,
                               touch.due_at, r.worth, r.days_late, r.candidate.value_at_risk,
                               line, member.phone, member.email))
    start = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    mine = Touch.owner_id == owner_id
    printed = select(CardBatchRecord.id).where(
        CardBatchRecord.file_name.like(f"{batch_prefix(owner_id)}%"),
        CardBatchRecord.created_at >= start)
    done_today = session.scalar(select(func.count()).select_from(Touch).where(
        mine, or_(and_(Touch.status == "done", Touch.done_at >= start),
                  and_(Touch.status == "sent", Touch.channel == "card",
                       Touch.card_batch_id.in_(printed))))) or 0
    snoozed = session.scalar(select(func.count()).select_from(Touch).where(
        mine, Touch.status == "planned", Touch.snoozed_until > now)) or 0
    expired = session.scalar(select(func.count()).select_from(Touch).where(
        mine, Touch.status == "expired")) or 0
    return TodayList(items, TodayCounts(len(items), day.more, done_today, snoozed, expired))


def _open_touch(session: Session, touch_id: int, owner_id: int) -> Touch | None:
    """The owner's touch (``None`` when it is already in the state asked for is decided by the
    caller); not found when it is not theirs."""
    touch = session.get(Touch, touch_id)
    if touch is None or touch.owner_id != owner_id or touch.channel not in CHANNELS:
        raise NotFound(N_("task %(touch_id)s does not exist"), values={"touch_id": touch_id})
    return touch


def snooze(session: Session, touch_id: int, owner_id: int, *, now: datetime, actor: str,
           days: int = 1) -> Touch:
    """Keep the touch off Today for ``days`` days (from ``now``); snoozing again moves it."""
    require_aware(now, place="now")
    if not 1 <= days <= 30:
        raise Conflict(N_("days: %(days)s must be between 1 and 30"), values={"days": days})
    touch = _open_touch(session, touch_id, owner_id)
    assert touch is not None
    if touch.status != "planned":
        raise Conflict(N_("task %(touch_id)s is %(status)s; only an open task can be snoozed"),
                       values={"touch_id": touch_id, "status": touch.status})
    until = now + timedelta(days=days)
    if touch.snoozed_until is None or touch.snoozed_until < until:
        touch.snoozed_until = until
        audit.record(session, actor=actor, action="task.snooze", target=f"touch {touch_id}",
                     detail=f"until {until.isoformat()}", at=now)
    session.flush()
    return touch


def not_now(session: Session, touch_id: int, owner_id: int, *, now: datetime,
            actor: str) -> Touch:
    """The distributor will not make this touch: dropped with the reason :data:`NOT_NOW`.
    Saying it again changes nothing."""
    require_aware(now, place="now")
    touch = _open_touch(session, touch_id, owner_id)
    assert touch is not None
    if touch.status == "dropped" and touch.drop_reason == NOT_NOW:
        return touch
    if touch.status != "planned":
        raise Conflict(N_("task %(touch_id)s is %(status)s; only an open task can be set aside"),
                       values={"touch_id": touch_id, "status": touch.status})
    touch.status, touch.drop_reason = "dropped", NOT_NOW
    audit.record(session, actor=actor, action="task.not_now", target=f"touch {touch_id}",
                 detail=f"{touch.occasion} for member {touch.member_id}", at=now)
    session.flush()
    return touch


#: The longest personal note (as a customer note).
NOTE_MAX = 5000


class NoteRefused(Problems):
    """A personal note that makes a claim the company forbids: not sent."""

    code = "forbidden_claim"


@dataclass(frozen=True)
class PersonalNote:
    """A note a distributor wrote for one of their tasks, checked: to ``email``."""

    touch_id: int
    name: str
    email: str
    body: str


def personal_note(session: Session, touch_id: int, owner_id: int, body: str) -> PersonalNote:
    """Check a note the distributor typed for their task ("Send this note"): to a member with
    an email address, at most :data:`NOTE_MAX` characters, and free of the company's forbidden
    phrases (:mod:`patronage.compliance.claims`); refused with every phrase found, each with
    its line and reason."""
    touch = _open_touch(session, touch_id, owner_id)
    assert touch is not None
    member = session.get(Member, touch.member_id)
    if member is None or not member.email:
        raise Conflict(N_("task %(touch_id)s: the member has no email address"),
                       values={"touch_id": touch_id})
    text = body.strip()
    if not text:
        raise NoteRefused("the note is empty", [Problem("body", "write a few words")])
    if len(text) > NOTE_MAX:
        raise NoteRefused("the note is too long", [Problem(
            "body", f"{len(text):,} characters; at most {NOTE_MAX:,}")])
    found = claim_problems("body", text, company_claims(session))
    if found:
        raise NoteRefused(f"the note for task {touch_id} makes a forbidden claim", found)
    return PersonalNote(touch.id, member.name, member.email, text)
