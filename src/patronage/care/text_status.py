"""What the SMS provider reports about texts: status callbacks and replies (STOP).

``POST /webhooks/sms/status`` takes Twilio's status callbacks (form fields ``MessageSid``,
``MessageStatus``, ``ErrorCode``, ``To``): ``delivered`` marks the text delivered;
``undelivered`` or ``failed`` marks it failed with the reason and fails its touch, and an error
code saying the number is gone for good (not a mobile, unknown, opted out) suppresses the
number for texts. Other statuses (queued, sending, sent) change nothing; a text already
delivered or failed keeps that outcome, so callbacks out of order or repeated change nothing.

``POST /webhooks/sms/inbound`` takes the texts members send back: a reply that is one of the
opt-out words (``STOP``, ``STOPALL``, ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT``,
``REVOKE``, ``OPTOUT``, in any case) suppresses the sender's number for texts; any other reply
changes nothing.

Both are signed by Twilio (``X-Twilio-Signature``, :func:`patronage.care.channels.sms.
twilio_signature`, keyed with the auth token, over the address Twilio called, which is
``PATRONAGE_BASE_URL`` followed by the path). A request not signed so changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patronage.care.channels.sms import NUMBER_GONE, is_e164, twilio_signature_valid
from patronage.db.care import CareDelivery, Touch
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.network.members import is_suppressed, suppress

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                        "OPTOUT"})
FAILED = ("undelivered", "failed")
STATUSES = ("accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered",
            "failed", "canceled", "read")


class TextEventRefused(PatronageError):
    code = "invalid"


@dataclass(frozen=True)
class StatusOutcome:
    #: what changed: ``delivered``, ``failed``, ``unchanged`` or ``unknown`` (not our text)
    outcome: str
    suppressed: bool = False


def verify(url: str, params: Mapping[str, str], signature: str | None, auth_token: str) -> None:
    if not auth_token:
        raise TextEventRefused("text events are not accepted: no auth token is set "
                               "(PATRONAGE_TWILIO_AUTH_TOKEN)")
    if not signature:
        raise TextEventRefused("X-Twilio-Signature: missing")
    if not twilio_signature_valid(url, params, signature, auth_token):
        raise TextEventRefused("X-Twilio-Signature: does not match the address and the body")


def record_status(session: Session, url: str, params: Mapping[str, str],
                  signature: str | None, auth_token: str, *, now: datetime) -> StatusOutcome:
    """Check the signature and the fields, then record what the callback reports."""
    verify(url, params, signature, auth_token)
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid:
        raise TextEventRefused("body: MessageSid: required")
    if status not in STATUSES:
        raise TextEventRefused(f"body: MessageStatus: {status!r} is not a message status")
    row = session.scalar(select(CareDelivery).where(CareDelivery.provider == "twilio",
                                                    CareDelivery.provider_ref == sid)
                         .with_for_update())
    if row is None:
        return StatusOutcome("unknown")
    if row.status != "sent" or (status != "delivered" and status not in FAILED):
        return StatusOutcome("unchanged")
    row.updated_at = now
    if status == "delivered":
        row.status = "delivered"
        return StatusOutcome("delivered")
    code = params.get("ErrorCode", "")
    reason = f"not delivered: {status}" + (f" (error {code})" if code else "")
    row.status, row.detail = "failed", reason[:500]
    touch = session.get(Touch, row.touch_id)
    assert touch is not None
    touch.status, touch.last_error, touch.next_attempt_at = "failed", reason[:500], None
    suppressed = False
    if code in NUMBER_GONE:
        number = params.get("To", "")
        if not is_e164(number):
            member = session.get(Member, touch.member_id)
            number = (member.phone if member is not None else None) or ""
        if number and not is_suppressed(session, "sms", number):
            suppress(session, "sms", number, reason=f"provider: error {code}", at=now)
            suppressed = True
    session.flush()
    return StatusOutcome("failed", suppressed)


def record_reply(session: Session, url: str, params: Mapping[str, str], signature: str | None,
                 auth_token: str, *, now: datetime) -> bool:
    """Check the signature; a reply that is an opt-out word suppresses the sender's number.
    True when it did (or the number was suppressed already)."""
    verify(url, params, signature, auth_token)
    number = params.get("From", "")
    if not is_e164(number):
        raise TextEventRefused(f"body: From: {number!r} is not a phone number in E.164")
    if params.get("Body", "").strip().upper() not in STOP_WORDS:
        return False
    suppress(session, "sms", number, reason="replied STOP", at=now)
    session.flush()
    return True
