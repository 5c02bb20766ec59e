"""A forgotten password, set again through a link sent by email.

- Asking (:func:`request_reset`) never tells whether the email has an account: the page answers
  the same either way, and the email is sent after the answer. An active account gets a link
  with a random key (only its SHA-256 hash is stored) that works once, for
  :data:`RESET_LIFETIME`; asking again ends the earlier links. At most
  :data:`REQUESTS_PER_HOUR` links are sent to one account an hour (more requests are answered
  the same, without an email).
- Following the link (:func:`reset_password`) sets the new password (the usual rules apply),
  ends the link and every session of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from patronage import audit
from patronage.clock import require_aware
from patronage.config import Settings
from patronage.db.accounts import Account, LoginAttempt, PasswordReset
from patronage.errors import PatronageError
from patronage.signin.sessions import end_sessions
from patronage.web.accounts import HASHER, check_password, normalise_email

RESET_LIFETIME = timedelta(hours=1)
REQUESTS_PER_HOUR = 3


class ResetRefused(PatronageError):
    code = "reset_refused"


@dataclass(frozen=True)
class ResetLink:
    """A link to send: to whom, and the key the link carries."""

    email: str
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def request_reset(session: Session, email: str, *, now: datetime,
                  ip: str | None = None) -> ResetLink | None:
    """A new link for the account with this email, or ``None`` (no such active account, or
    too many links this hour). Earlier links of the account end."""
    now = require_aware(now)
    email = normalise_email(email)
    account = session.scalar(select(Account).where(Account.email == email))
    if account is None or account.disabled_at is not None:
        return None
    recent = session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.account_id == account.id,
        PasswordReset.created_at > now - timedelta(hours=1))) or 0
    if recent >= REQUESTS_PER_HOUR:
        audit.record(session, actor=f"anonymous:{email}", action="password.reset_throttled",
                     target=email, detail=f"{recent} links in the last hour", at=now, ip=ip)
        return None
    session.execute(delete(PasswordReset).where(PasswordReset.account_id == account.id,
                                                PasswordReset.expires_at < now - RESET_LIFETIME))
    session.execute(update(PasswordReset).where(
        PasswordReset.account_id == account.id, PasswordReset.ended_at.is_(None),
    ).values(ended_at=now, ended_reason="superseded"))
    key = secrets.token_urlsafe(32)
    session.add(PasswordReset(account_id=account.id, key_hash=_hash(key), created_at=now,
                              expires_at=now + RESET_LIFETIME, ended_at=None,
                              ended_reason=None))
    audit.record(session, actor=f"anonymous:{email}", action="password.reset_requested",
                 target=email, detail="", at=now, ip=ip)
    session.flush()
    return ResetLink(email, key)


def _live(session: Session, key: str, now: datetime) -> tuple[PasswordReset, Account]:
    row = session.scalar(select(PasswordReset).where(PasswordReset.key_hash == _hash(key)))
    account = session.get(Account, row.account_id) if row is not None else None
    if (row is None or account is None or row.ended_at is not None or row.expires_at <= now
            or account.disabled_at is not None):
        raise ResetRefused("password reset link: this link has been used or has expired; "
                           "ask for a new one")
    return row, account


def check_link(session: Session, key: str, *, now: datetime) -> str:
    """The email a live link is for (:class:`ResetRefused` otherwise)."""
    return _live(session, key, now)[1].email


def reset_password(session: Session, key: str, *, new: str, now: datetime,
                   ip: str | None = None) -> str:
    """Set the new password through a live link; the link and every session of the account
    end, and the account's failed sign-ins are forgotten. Returns the account's email."""
    now = require_aware(now)
    row, account = _live(session, key, now)
    check_password(new, email=account.email)
    account.password_hash = HASHER.hash(new)
    row.ended_at, row.ended_reason = now, "used"
    end_sessions(session, account.id, now=now, reason="password reset")
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == account.email))
    audit.record(session, actor=f"{account.role}:{account.email}", action="password.reset",
                 target=account.email, detail="", at=now, ip=ip)
    return account.email


def reset_message(link: ResetLink, *, settings: Settings, now: datetime) -> EmailMessage:
    """The email with the link (plain text: nothing in it but the link and what it does)."""
    url = f"{settings.base_url.rstrip('/')}/password/reset/{link.key}"
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    msg = EmailMessage()
    msg["From"] = formataddr((settings.company_name, settings.mail_from))
    msg["To"] = formataddr(("", link.email))
    msg["Subject"] = f"Set a new password for {settings.company_name}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    msg.set_content(
        f"Someone (we hope you) asked to set a new password for {link.email}.\n\n"
        f"To choose one, open this link within {minutes} minutes:\n\n{url}\n\n"
        "The link works once. If you did not ask, ignore this email: your password stays as "
        "it is.\n")
    return msg
