"""Bounces and complaints from the mail provider suppress the address.

``POST /webhooks/mail`` takes the provider's events, relayed as one JSON document signed with
the shared secret (``PATRONAGE_MAIL_WEBHOOK_SECRET``): the header ``X-Patronage-Signature:
sha256=<hex HMAC-SHA256 of the body>``. A request without a valid signature changes nothing.

    {"events": [{"type": "bounce", "email": "sally@example.com", "bounce": "hard"},
                {"type": "complaint", "email": "sam@example.com"}]}

A hard bounce (the address does not exist) and a complaint (the recipient marked the message as
spam) suppress the address for email: no touch is sent to it again (the planner drops them as
``suppressed``, the outbox checks again before each message). A soft bounce (a full mailbox)
changes nothing: the next message may arrive. Replaying events changes nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from patronage.errors import PatronageError
from patronage.network.intake import email_problem
from patronage.network.members import is_suppressed, suppress

KINDS = ("bounce", "complaint")
MAX_EVENTS = 1000


class MailEventsRefused(PatronageError):
    code = "invalid"


@dataclass(frozen=True)
class MailEvents:
    suppressed: int
    already: int
    ignored: int


def verify(body: bytes, signature: str | None, secret: str) -> None:
    """Refuse a body not signed with ``secret``."""
    if not secret:
        raise MailEventsRefused("mail events are not accepted: no webhook secret is set "
                                "(PATRONAGE_MAIL_WEBHOOK_SECRET)")
    if not signature or not signature.startswith("sha256="):
        raise MailEventsRefused("X-Patronage-Signature: missing (sha256=<hex>)")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.removeprefix("sha256=").strip().lower()):
        raise MailEventsRefused("X-Patronage-Signature: does not match the body")


def sign(body: bytes, secret: str) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MailEventsRefused(f"body: not JSON ({exc})") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise MailEventsRefused("body: events: a list is required")
    if len(events) > MAX_EVENTS:
        raise MailEventsRefused(f"body: events: at most {MAX_EVENTS} in one request")
    for i, e in enumerate(events):
        if not isinstance(e, dict) or e.get("type") not in KINDS:
            raise MailEventsRefused(f"body: events[{i}].type: one of {', '.join(KINDS)}")
        if not isinstance(e.get("email"), str) or email_problem(e["email"]) is not None:
            raise MailEventsRefused(f"body: events[{i}].email: not an email address")
        if e["type"] == "bounce" and e.get("bounce", "hard") not in ("hard", "soft"):
            raise MailEventsRefused(f"body: events[{i}].bounce: hard or soft")
    return events


def record_mail_events(session: Session, body: bytes, signature: str | None, secret: str, *,
                       now: datetime) -> MailEvents:
    """Check the signature and every event (all or nothing), then suppress what must be."""
    verify(body, signature, secret)
    suppressed = already = ignored = 0
    for e in _events(body):
        if e["type"] == "bounce" and e.get("bounce", "hard") == "soft":
            ignored += 1
            continue
        address = e["email"].strip()
        if is_suppressed(session, "email", address):
            already += 1
            continue
        reason = "complaint" if e["type"] == "complaint" else "hard bounce"
        suppress(session, "email", address, reason=reason, at=now)
        session.flush()
        suppressed += 1
    return MailEvents(suppressed, already, ignored)
