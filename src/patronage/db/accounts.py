"""Sign-in accounts for the back office, the login rate-limit record and the audit log.

An *account* is one person who signs in: a company staff member, a distributor or a customer
(the last two linked to their member record). Passwords are stored only as Argon2 hashes. A
*login attempt* is kept per email and client address so repeated failures can be slowed down.
A *web session* is one signed-in browser: the cookie names it, and it ends at sign-out, at a
password change, when staff end it, or when its lifetime runs out.
The *audit log* is append-only: who did what security-relevant thing, to what, when, from where.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime
from patronage.db.tables import Member, Order

ACCOUNT_ROLES = ("staff", "distributor", "customer")


class Account(Base):
    """A person who signs in. ``member_id`` is set for distributors and customers."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('staff', 'distributor', 'customer')", name="role"),
        CheckConstraint(
            "role = 'staff' OR member_id IS NOT NULL", name="member_for_non_staff"
        ),
        Index("ix_accounts_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """One failed sign-in, kept to limit guessing per email and client address, per address,
    and for everyone together."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_key", "email", "ip", "at"),
        Index("ix_login_attempts_ip", "ip", "at"),
        Index("ix_login_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSessionRecord(Base):
    """One signed-in browser. The cookie carries a random key; only its SHA-256 hash is kept.
    A session counts while ``ended_at`` is empty and ``expires_at`` is in the future."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_account", "account_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))


class PasswordReset(Base):
    """One emailed link to set a forgotten password. The link carries a random key; only its
    SHA-256 hash is kept. It works once, until ``expires_at``, and only while no newer link
    was asked for (then ``ended_at`` is set, with the reason)."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_account", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))


class AuditEntry(Base):
    """One security-relevant action: sign-ins, password and consent changes, commits."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(254), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))


#: Indexes the back office's pages need on the core records (migration ``0003_web_indexes``):
#: a distributor's credited volume by time (My business), and member search by first name.
Index("ix_orders_credited_placed", Order.credited_to_id, Order.placed_at)
Index("ix_members_first_name", Member.first_name, Member.id)
#: Staff find a member by phone (stored as typed or in E.164) and by the start of a last name
#: (migration ``0016_portal``).
Index("ix_members_phone", Member.phone)
Index("ix_members_last_name", Member.last_name, Member.id)
