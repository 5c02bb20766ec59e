"""Integration tokens: made with scopes, shown once, stored hashed, revoked at once, expiring
(:data:`DEFAULT_LIFETIME` unless chosen otherwise, at most :data:`MAX_LIFETIME`), and rotated
by :func:`rotate_token` (a new token with the same name and scopes; the old one is revoked at
once, or expires after a grace of at most :data:`MAX_GRACE`).

A token reads ``pat_<prefix>_<secret>``. The prefix finds the row; the SHA-256 hash of the whole
token is compared in constant time. When no row has the prefix, a dummy hash is still compared, so
the time taken does not tell whether a prefix exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from patronage.access import SCOPES, Principal
from patronage.clock import require_aware
from patronage.db.api_tokens import ApiToken
from patronage.db.engine import session_factory, transaction
from patronage.errors import NotFound, PatronageError

TOKEN_START = "pat_"
#: ``last_used_at`` is written at most this often per token, so that busy integrations do not
#: queue on one row.
TOUCH_EVERY = timedelta(minutes=1)
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)
#: How long a rotated token may keep working while the integration switches to the new one.
MAX_GRACE = timedelta(hours=24)


class Unauthenticated(PatronageError):
    """No credentials, or credentials that are not (or no longer) valid."""

    code = "unauthenticated"


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime
    replaces_id: int | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(t: ApiToken) -> TokenView:
    return TokenView(t.id, t.name, t.prefix, tuple(t.scopes.split()), t.created_at, t.created_by,
                     t.revoked_at, t.last_used_at, t.expires_at, t.replaces_id)


def check_scopes(scopes: list[str]) -> tuple[str, ...]:
    """The scopes, deduplicated in the canonical order; refuses unknown ones, naming them."""
    unknown = sorted({s for s in scopes if s not in SCOPES})
    if unknown:
        raise PatronageError(f"scope: {', '.join(unknown)} not known; choose from "
                             f"{', '.join(SCOPES)}")
    if not scopes:
        raise PatronageError("scope: a token needs at least one scope")
    return tuple(s for s in SCOPES if s in set(scopes))


def create_token(session: Session, *, name: str, scopes: list[str], now: datetime,
                 created_by: str, expires_in: timedelta | None = None,
                 replaces_id: int | None = None) -> tuple[TokenView, str]:
    """A new token; returns its record and the token itself (shown once, never stored)."""
    if not name.strip():
        raise PatronageError("name: a token needs a name (the integration it is for)")
    wanted = check_scopes(scopes)
    lifetime = DEFAULT_LIFETIME if expires_in is None else expires_in
    if not timedelta(days=1) <= lifetime <= MAX_LIFETIME:
        raise PatronageError(f"expiry: between 1 and {MAX_LIFETIME.days} days, please "
                             f"(default {DEFAULT_LIFETIME.days})")
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(name=name.strip(), prefix=prefix, secret_hash=_hash(token),
                   scopes=" ".join(wanted), created_at=require_aware(now),
                   created_by=created_by, revoked_at=None, last_used_at=None,
                   expires_at=now + lifetime, replaces_id=replaces_id)
    session.add(row)
    session.flush()
    return _view(row), token


def list_tokens(session: Session) -> list[TokenView]:
    return [_view(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke_token(session: Session, token_id: int, *, now: datetime) -> TokenView:
    """Revoke at once (idempotent: revoking again keeps the first time)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = require_aware(now)
        session.flush()
    return _view(row)


def rotate_token(session: Session, token_id: int, *, now: datetime, created_by: str,
                 grace: timedelta = timedelta(0),
                 expires_in: timedelta | None = None) -> tuple[TokenView, str]:
    """A new token with the old one's name and scopes (and a fresh lifetime); the old one is
    revoked at once, or with a ``grace`` expires that long from now. Returns the new record and
    token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise PatronageError(f"grace: at most {int(MAX_GRACE.total_seconds() // 3600)} hours "
                             "(and not negative)")
    replaced = session.scalar(select(ApiToken.id).where(ApiToken.replaces_id == row.id))
    if replaced is not None:
        raise PatronageError(f"token {token_id}: already replaced by token {replaced}")
    if row.revoked_at is not None:
        raise PatronageError(f"token {token_id}: revoked; create a new one instead")
    view, token = create_token(session, name=row.name, scopes=row.scopes.split(), now=now,
                               created_by=created_by, expires_in=expires_in,
                               replaces_id=row.id)
    if grace:
        row.expires_at = min(row.expires_at, require_aware(now) + grace)
    else:
        row.revoked_at = require_aware(now)
    session.flush()
    return view, token


def _token_row(engine: Engine, prefix: str) -> ApiToken | None:
    """The token with that prefix. On PostgreSQL the one query runs outside a transaction
    (no BEGIN and ROLLBACK around it: two round trips fewer on every API request)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, \
                Session(bind=conn) as session:
            return session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    with session_factory(engine)() as session:
        return session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))


def authenticate(engine: Engine, token: str, *, now: datetime) -> Principal:
    """The principal a bearer token stands for, or :class:`Unauthenticated`.

    Reads in one short transaction and notes the use in another (at most once a minute), so
    that the check never holds a lock the request itself will wait for."""
    parts = token.split("_")
    prefix = parts[1] if len(parts) >= 3 and token.startswith(TOKEN_START) else ""
    row = _token_row(engine, prefix) if prefix else None
    expected = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(expected, _hash(token))
    if row is None or not matches:
        raise Unauthenticated("the bearer token is not valid")
    if row.revoked_at is not None:
        raise Unauthenticated(f"the bearer token {row.prefix!r} was revoked")
    if row.expires_at <= now:
        raise Unauthenticated(f"the bearer token {row.prefix!r} expired on "
                              f"{row.expires_at:%Y-%m-%d %H:%M} UTC; ask for a new one")
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        with transaction(engine) as session:
            session.execute(update(ApiToken).where(
                ApiToken.id == row.id,
                (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - TOUCH_EVERY),
            ).values(last_used_at=now))
    return Principal("token", None, frozenset(row.scopes.split()), row.name)
