"""Personal tasks: the touches a distributor makes by hand ("Call Sally today: her birthday").

A task is a touch on the ``task`` channel. Its ``owner_id`` is the distributor who should make
it; ``None`` means the company's customer service. The distributor sees the tasks due now and in
the next days (overdue ones first), marks them done, and may follow them in a calendar through
an iCalendar feed whose events keep the same UID from one download to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from patronage.care.content import TemplateSet, build_context, default_templates
from patronage.care.playbook_templates import Wording
from patronage.clock import require_aware, zone
from patronage.compliance.claims import company_claims
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.care_playbooks import Adoption
from patronage.db.tables import Member
from patronage.errors import N_, Conflict, NotFound, PatronageError

#: How far ahead the calendar feed looks.
FEED_DAYS = 60


@dataclass(frozen=True)
class TaskView:
    """One task as the distributor sees it."""

    touch_id: int
    member_id: int
    member_name: str
    owner_id: int | None
    occasion: str
    template: str
    due_at: datetime
    priority: int
    status: str
    line: str
    summary: str
    overdue: bool


def _task_query(owner_id: int | None, until: datetime) -> Select[Touch, Member]:
    owner = Touch.owner_id.is_(None) if owner_id is None else Touch.owner_id == owner_id
    return (
        select(Touch, Member)
        .join(Member, Member.id == Touch.member_id)
        .where(Touch.channel == "task", Touch.status == "planned", owner, Touch.due_at < until)
        .order_by(Touch.due_at, Touch.priority.desc(), Touch.id)
    )


def task_line(session: Session, touch: Touch, now: datetime,
              templates: TemplateSet | None = None, *, settings: Settings) -> str:
    """The rendered one-line task (the touch's summary if it has no task template), in the
    language of the distributor it is for: by the template of the distributor's playbook when
    it has one that fits and makes no forbidden claim, else the company's."""
    tset = templates or default_templates()
    if touch.owner_id is not None and session.get(Adoption, touch.owner_id) is not None:
        context = build_context(session, touch, now, settings=settings)
        context["locale"] = context["owner_locale"]
        own = Wording(tset, company_claims(session)).task(session, touch, context)
        if own is not None:
            return own
    if not tset.exists(touch.template, "task"):
        member = session.get(Member, touch.member_id)
        who = member.name if member is not None else f"member {touch.member_id}"
        return touch.summary or f"{touch.occasion.replace('_', ' ').capitalize()}: {who}"
    context = build_context(session, touch, now, settings=settings)
    # A task is read by the distributor: in their language (the company's for a task of its own).
    context["locale"] = context["owner_locale"] if touch.owner_id is not None else None
    return tset.task(touch.template, context)


def tasks_for(session: Session, owner_id: int | None, now: datetime, *, settings: Settings,
              days: int = 7) -> list[TaskView]:
    """The distributor's open tasks due before ``now + days`` (overdue ones included).

    ``owner_id=None`` lists the company customer service's tasks.
    """
    require_aware(now, place="now")
    if days < 0:
        raise PatronageError(N_("days: %(days)s must not be negative"), values={"days": days})
    rows = session.execute(_task_query(owner_id, now + timedelta(days=days))).all()
    return [
        TaskView(
            touch_id=touch.id, member_id=member.id, member_name=member.name,
            owner_id=touch.owner_id, occasion=touch.occasion, template=touch.template,
            due_at=touch.due_at, priority=touch.priority, status=touch.status,
            line=task_line(session, touch, now, settings=settings), summary=touch.summary or "",
            overdue=touch.due_at < now,
        )
        for touch, member in rows
    ]


def mark_done(session: Session, touch_id: int, *, by: int | str, now: datetime,
              owner_id: int | None = None) -> Touch:
    """Record that a task was made. ``by`` is the distributor's member id (checked to be the
    task's owner) or a staff name; pass ``owner_id`` to check ownership for a staff name too.

    Marking a done task again changes nothing; a dropped or cancelled task is refused.
    """
    require_aware(now, place="now")
    touch = session.get(Touch, touch_id)
    if touch is None:
        raise NotFound(N_("task %(touch_id)s does not exist"), values={"touch_id": touch_id})
    if touch.channel != "task":
        raise Conflict(N_("touch %(touch_id)s is a %(channel)s touch, not a task"),
                       values={"touch_id": touch_id, "channel": touch.channel})
    expected = by if isinstance(by, int) else owner_id
    if expected is not None and touch.owner_id != expected:
        raise Conflict(N_("task %(touch_id)s is not a task of distributor %(expected)s"),
                       values={"touch_id": touch_id, "expected": expected})
    if touch.status == "done":
        return touch
    if touch.status != "planned":
        raise Conflict(N_("task %(touch_id)s is %(status)s; only a planned task can be done"),
                       values={"touch_id": touch_id, "status": touch.status})
    touch.status = "done"
    touch.done_at = now
    touch.done_by = (f"member {by}" if isinstance(by, int) else by)[:100]
    session.flush()
    return touch


def ical_feed(session: Session, owner_id: int | None, now: datetime, *, settings: Settings,
              days: int = FEED_DAYS) -> bytes:
    """An iCalendar file with one all-day event per open task (overdue ones on today).

    Days are the distributor's local days; UIDs are stable (``care-task-<id>@<host>``), so a
    calendar that re-reads the feed updates events instead of duplicating them.
    """
    require_aware(now, place="now")
    host = urlsplit(settings.base_url).hostname or "patronage"
    owner = session.get(Member, owner_id) if owner_id is not None else None
    tz = zone(owner.timezone if owner is not None else settings.company_timezone)
    today = now.astimezone(tz).date()
    cal = Calendar()
    cal.add("prodid", f"-//{settings.company_name}//Patronage care tasks//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Care tasks")
    for task in tasks_for(session, owner_id, now, settings=settings, days=days):
        day: date = max(task.due_at.astimezone(tz).date(), today)
        event = Event()
        event.add("uid", f"care-task-{task.touch_id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", task.line)
        if task.summary and task.summary != task.line:
            event.add("description", task.summary)
        cal.add_component(event)
    return bytes(cal.to_ical())
