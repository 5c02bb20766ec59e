"""A distributor's appreciation tasks: calls, cards to sign and thank-yous that are due."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage import audit
from patronage.db.care import Touch
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound

TASK_CHANNELS = ("task", "card")


@dataclass
class TaskRow:
    id: int
    member_id: int
    member_name: str
    occasion: str
    channel: str
    summary: str
    due_at: datetime
    overdue: bool


def tasks_due(session: Session, owner_id: int, now: datetime, *, days: int = 7,
              limit: int = 50) -> list[TaskRow]:
    """Planned tasks for the owner due before ``now + days`` (overdue ones first)."""
    rows = session.execute(
        select(Touch, Member.first_name, Member.last_name)
        .join(Member, Member.id == Touch.member_id)
        .where(Touch.owner_id == owner_id, Touch.status == "planned",
               Touch.channel.in_(TASK_CHANNELS), Touch.due_at < now + timedelta(days=days))
        .order_by(Touch.due_at, Touch.priority.desc(), Touch.id).limit(limit)).all()
    return [TaskRow(t.id, t.member_id, f"{first} {last}".strip(), t.occasion, t.channel,
                    t.summary, t.due_at, t.due_at < now) for t, first, last in rows]


def mark_task_done(session: Session, touch_id: int, owner_id: int, *, by: str,
                   now: datetime) -> None:
    """Mark the owner's task done (not found when it is not theirs); audited."""
    touch = session.get(Touch, touch_id)
    if touch is None or touch.owner_id != owner_id or touch.channel not in TASK_CHANNELS:
        raise NotFound(f"task {touch_id} does not exist")
    if touch.status == "done":
        raise Conflict(f"task {touch_id} is already done")
    if touch.status != "planned":
        raise Conflict(f"task {touch_id} is {touch.status}, not planned")
    care_tasks = _care_tasks()
    if care_tasks is not None:
        care_tasks.mark_done(session, touch_id, by=by, now=now)
    else:
        touch.status, touch.done_at, touch.done_by = "done", now, by[:100]
    audit.record(session, actor=by, action="task.done", target=f"touch {touch_id}",
                 detail=f"{touch.occasion} for member {touch.member_id}", at=now)


def _care_tasks() -> Any:
    try:
        module = importlib.import_module("patronage.care.tasks")
    except ModuleNotFoundError:
        return None
    return module if hasattr(module, "mark_done") else None
