"""Signed links in messages: preferences, one-click unsubscribe, survey, testimonial.

A link carries a token signed with ``settings.secret_key`` (itsdangerous), one salt per purpose,
so a survey token can never be used as an unsubscribe token. The token holds the member id, the
touch it was sent with (if any) and when it was issued; its age is checked against the ``now``
given, never the wall clock. Pages live under ``settings.base_url``:

- ``/p/{token}`` the member's preferences (consents per channel),
- ``/u/{token}`` one-click unsubscribe (RFC 8058: a POST performs it),
- ``/s/{token}`` a short survey,
- ``/t/{token}`` a testimonial form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from patronage.clock import require_aware
from patronage.errors import N_, PatronageError
from patronage.network.members import (
    consents_in_force,
    get_member,
    is_suppressed,
    record_consent,
    suppress,
)

#: purpose -> (path prefix, how long a link stays valid)
PURPOSES: dict[str, tuple[str, timedelta]] = {
    "preferences": ("p", timedelta(days=400)),
    "unsubscribe": ("u", timedelta(days=400)),
    "survey": ("s", timedelta(days=30)),
    "testimonial": ("t", timedelta(days=60)),
}


class InvalidLink(PatronageError):
    """A link that was altered, is for something else, or has expired."""

    code = "invalid_link"


@dataclass(frozen=True)
class LinkData:
    purpose: str
    member_id: int
    touch_id: int | None
    issued_at: datetime


def _serializer(purpose: str, secret: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise PatronageError(N_("link purpose: %(purpose)r is not one of %(join)s"),
                             values={"purpose": purpose, "join": ', '.join(PURPOSES)})
    return URLSafeSerializer(secret, salt=f"patronage.{purpose}")


def make_token(purpose: str, member_id: int, now: datetime, *, touch_id: int | None = None,
               secret: str) -> str:
    """A signed token for ``purpose`` naming the member (and the touch that carried it)."""
    issued = int(require_aware(now, place="now").timestamp())
    payload = {"m": member_id, "t": touch_id, "i": issued}
    return str(_serializer(purpose, secret).dumps(payload))


def read_token(token: str, purpose: str, now: datetime, *,
               secret: str) -> LinkData:
    """The member (and touch) a token names; :class:`InvalidLink` if forged or expired."""
    try:
        payload = _serializer(purpose, secret).loads(token)
        member_id, touch_id, issued = int(payload["m"]), payload["t"], int(payload["i"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidLink(f"this {purpose} link is not valid: it was altered or is not a "
                          f"{purpose} link") from exc
    issued_at = datetime.fromtimestamp(issued, UTC)
    expires = issued_at + PURPOSES[purpose][1]
    if require_aware(now, place="now") > expires:
        raise InvalidLink(f"this {purpose} link expired on {expires.date().isoformat()}; "
                          "ask for a new one")
    return LinkData(purpose, member_id, None if touch_id is None else int(touch_id), issued_at)


def url(purpose: str, token: str, *, base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/{PURPOSES[purpose][0]}/{token}"


def make_link(purpose: str, member_id: int, now: datetime, *, touch_id: int | None = None,
              base_url: str, secret: str) -> str:
    """The full URL of a signed link (``settings.base_url`` and ``settings.secret_key``)."""
    token = make_token(purpose, member_id, now, touch_id=touch_id, secret=secret)
    return url(purpose, token, base_url=base_url)


def unsubscribe(session: Session, member_id: int, now: datetime, via: str) -> bool:
    """Withdraw the member's email consent and suppress their address (safe to repeat).

    Returns whether anything changed. The suppression outlives erasure of the member; an erased
    member's link changes nothing.
    """
    member = get_member(session, member_id)
    if member.status == "erased":
        return False  # nothing left to withdraw: erasure suppressed the addresses
    withdrawn = consents_in_force(session, member_id).get("email") is False
    if withdrawn and (not member.email or is_suppressed(session, "email", member.email)):
        return False
    if withdrawn and member.email:
        suppress(session, "email", member.email, reason=f"unsubscribed: {via}"[:64], at=now)
        session.flush()
        return True
    record_consent(session, member_id, "email", False, at=now, method=f"unsubscribe: {via}"[:50])
    return True
