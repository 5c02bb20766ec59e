"""Integration tokens: made with scopes, shown once, stored hashed, revoked at once.

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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(t: ApiToken) -> TokenView:
    return TokenView(t.id, t.name, t.prefix, tuple(t.scopes.split()), t.created_at, t.created_by,
                     t.revoked_at, t.last_used_at)


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
                 created_by: str) -> tuple[TokenView, str]:
    """A new token; returns its record and the token itself (shown once, never stored)."""
    if not name.strip():
        raise PatronageError("name: a token needs a name (the integration it is for)")
    wanted = check_scopes(scopes)
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(name=name.strip(), prefix=prefix, secret_hash=_hash(token),
                   scopes=" ".join(wanted), created_at=require_aware(now),
                   created_by=created_by, revoked_at=None, last_used_at=None)
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


def authenticate(engine: Engine, token: str, *, now: datetime) -> Principal:
    """The principal a bearer token stands for, or :class:`Unauthenticated`.

    Reads in one short transaction and notes the use in another (at most once a minute), so
    that the check never holds a lock the request itself will wait for."""
    parts = token.split("_")
    prefix = parts[1] if len(parts) >= 3 and token.startswith(TOKEN_START) else ""
    with session_factory(engine)() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix)) \
            if prefix else None
    expected = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(expected, _hash(token))
    if row is None or not matches:
        raise Unauthenticated("the bearer token is not valid")
    if row.revoked_at is not None:
        raise Unauthenticated(f"the bearer token {row.prefix!r} was revoked")
    if row.last_used_at is None or row.last_used_at < now - TOUCH_EVERY:
        with transaction(engine) as session:
            session.execute(update(ApiToken).where(
                ApiToken.id == row.id,
                (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - TOUCH_EVERY),
            ).values(last_used_at=now))
    return Principal("token", None, frozenset(row.scopes.split()), row.name)
