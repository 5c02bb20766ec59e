"""The audit log: security-relevant actions, appended and never changed.

Callers record inside their own unit of work, so the entry is written if and only if the action
itself is (a commission commit that rolls back leaves no "committed" entry behind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.db.accounts import AuditEntry


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    ip: str | None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    detail: str,
    at: datetime,
    ip: str | None = None,
) -> None:
    """Append one entry (``actor`` e.g. ``staff:ann@example.com``, ``action`` e.g.
    ``login.failed``, ``target`` what it was done to). Flushed, not committed: the caller's
    transaction decides."""
    if at.tzinfo is None:
        raise ValueError("audit.record: 'at' must be an aware datetime")
    if not action:
        raise ValueError("audit.record: 'action' must not be empty")
    session.add(
        AuditEntry(
            at=at,
            actor=actor[:254],
            action=action[:64],
            target=target[:254],
            detail=detail,
            ip=ip[:64] if ip else None,
        )
    )
    session.flush()


def recent(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditRow]:
    """The newest entries first, optionally only one action."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return [
        AuditRow(e.at, e.actor, e.action, e.target, e.detail, e.ip)
        for e in session.scalars(query)
    ]
