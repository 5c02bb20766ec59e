"""API tokens for integrations (a shop, an ERP): scoped, revocable, stored hashed.

Only the SHA-256 hash of a token's secret is kept; the token itself is shown once, when it is
made. ``prefix`` (the token's first characters) finds the row; the hash is compared in constant
time. A revoked token (``revoked_at`` set) is refused from that moment on, an expired one from
``expires_at`` on (a token rotated with a grace expires when the grace ends). ``replaces_id`` is
the token a rotation replaced.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class ApiToken(Base):
    """One integration's token. ``scopes`` is a space-separated list (``orders:write ...``)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
