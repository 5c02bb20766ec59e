"""A distributor's appreciation tasks (calls, cards to sign, thank-yous): listing and done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from patronage import audit
from patronage.care.tasks import TaskView, mark_done, tasks_for
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.errors import Conflict, NotFound


def tasks_due(session: Session, owner_id: int, now: datetime, *, settings: Settings,
              days: int = 7) -> list[TaskView]:
    """Open tasks for the owner due before ``now + days`` (overdue ones first)."""
    return tasks_for(session, owner_id, now, days=days, settings=settings)


def mark_task_done(session: Session, touch_id: int, owner_id: int, *, actor: str,
                   now: datetime) -> None:
    """Mark the owner's task done: *not found* when it is not theirs (ids cannot be probed),
    a conflict when it was already done; audited."""
    touch = session.get(Touch, touch_id)
    if touch is None or touch.owner_id != owner_id or touch.channel != "task":
        raise NotFound(f"task {touch_id} does not exist")
    if touch.status == "done":
        raise Conflict(f"task {touch_id} is already done")
    mark_done(session, touch_id, by=owner_id, now=now)
    audit.record(session, actor=actor, action="task.done", target=f"touch {touch_id}",
                 detail=f"{touch.occasion} for member {touch.member_id}", at=now)
