"""Web sessions kept on the server, so that they can be ended before their time.

A session starts at sign-in with a random key that only the browser's (signed) cookie holds; the
store keeps the key's SHA-256 hash, when the session started and when it will end. Every request
looks the session up again: it counts while it has not been ended and its
:data:`SESSION_LIFETIME` has not run out (by the app's clock). Sessions end

- at sign-out (that browser's session only);
- at a password change or a reset by email (every session of the account; the browser that
  changed it gets a new one);
- when staff end them (``patronage accounts end-sessions EMAIL``) or disable the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.db.accounts import Account, WebSessionRecord
from patronage.errors import NotFound

#: How long a session lasts from sign-in (the cookie's Max-Age is the same).
SESSION_LIFETIME = timedelta(hours=12)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def start_session(session: Session, account_id: int, *, now: datetime) -> str:
    """A new session for the account; returns its key (for the cookie, never stored).
    The account's sessions that ended or ran out more than a lifetime ago are forgotten."""
    now = require_aware(now)
    session.execute(delete(WebSessionRecord).where(
        WebSessionRecord.account_id == account_id,
        or_(WebSessionRecord.ended_at < now - SESSION_LIFETIME,
            WebSessionRecord.expires_at < now - SESSION_LIFETIME)))
    key = secrets.token_urlsafe(32)
    session.add(WebSessionRecord(account_id=account_id, key_hash=_hash(key), created_at=now,
                                 expires_at=now + SESSION_LIFETIME, ended_at=None,
                                 ended_reason=None))
    session.flush()
    return key


def session_account(session: Session, key: str | None, account_id: int | None, *,
                    now: datetime) -> Account | None:
    """The account of a live session with this key (and this account), or ``None``."""
    if not key or account_id is None:
        return None
    record = session.scalar(select(WebSessionRecord).where(
        WebSessionRecord.key_hash == _hash(key)))
    if (record is None or record.account_id != account_id or record.ended_at is not None
            or record.expires_at <= now):
        return None
    return session.get(Account, record.account_id)


def end_session(session: Session, key: str | None, *, now: datetime,
                reason: str = "sign-out") -> None:
    """End one session (nothing happens for an unknown or already ended key)."""
    if not key:
        return
    session.execute(update(WebSessionRecord).where(
        WebSessionRecord.key_hash == _hash(key), WebSessionRecord.ended_at.is_(None),
    ).values(ended_at=require_aware(now), ended_reason=reason))


def end_sessions(session: Session, account_id: int, *, now: datetime, reason: str) -> int:
    """End every live session of the account; returns how many were live."""
    now = require_aware(now)
    result = session.execute(update(WebSessionRecord).where(
        WebSessionRecord.account_id == account_id, WebSessionRecord.ended_at.is_(None),
    ).values(ended_at=now, ended_reason=reason).returning(WebSessionRecord.expires_at))
    return sum(1 for (expires_at,) in result if expires_at > now)


def end_sessions_for(session: Session, email: str, *, now: datetime, actor: str) -> int:
    """Staff end every session of the account with this email (audited); returns how many."""
    normalised = email.strip().lower()
    account = session.scalar(select(Account).where(Account.email == normalised))
    if account is None:
        raise NotFound(f"email: no account for {normalised}")
    ended = end_sessions(session, account.id, now=now, reason="ended by staff")
    audit.record(session, actor=actor, action="account.end_sessions", target=account.email,
                 detail=f"{ended} live session(s) ended", at=now)
    return ended
