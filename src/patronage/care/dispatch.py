"""Texts and mailed cards: the due touches handed to a provider's adapter.

The same guarantees as the email outbox (:mod:`patronage.care.deliver`): right before each
touch, consent and suppression are checked again and a touch that may no longer go out is
*dropped* with the reason; a touch due more than the rules' ``lookback_days`` before the run is
dropped as late; each attempt is *claimed* in its own committed transaction (attempts + 1, the
next attempt pushed back by the same backoff) before the request leaves; a provider that is
down costs one attempt and a wait, a refusal that trying again cannot help (a number that is
not a mobile, an address that cannot be mailed) fails the touch at once with the provider's
reason, and after ``max_attempts`` the touch is *failed*. One bad record fails its own touch,
never the run.

What the provider accepted is recorded in ``care_deliveries`` (its reference, later what its
status callbacks report, :mod:`patronage.care.text_status`). A card is mailed with an
idempotency key made from the touch id, so a retry after a lost answer never mails a second
card. A text has no such key at SMS providers: as with email, a crash between the provider's
acceptance and the mark sends the text again after the wait (at-least-once).

A text goes only to a member who gave consent to texts (express consent, as the law asks of
marketing texts), whose number is in E.164 and not suppressed; a number the provider reports as
gone for good (not a mobile, not a number, opted out with STOP) is suppressed for texts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from patronage.care.channels import post, sms
from patronage.care.channels.cards import _refusal as card_refusal
from patronage.care.channels.email import SendFailed
from patronage.care.channels.sms import Accepted, TextFailed
from patronage.care.content import TemplateSet, build_context, default_templates
from patronage.care.core.rules import Rules
from patronage.care.deliver import MAX_ATTEMPTS, backoff, due_query
from patronage.care.outcomes import failure_text, late_window, lateness
from patronage.clock import require_aware
from patronage.config import Settings
from patronage.db.care import CareDelivery, Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.network.members import consents_in_force, is_suppressed, suppress

#: Where Twilio posts a text's status (signed; :mod:`patronage.care.text_status`).
STATUS_PATH = "/webhooks/sms/status"

P = TypeVar("P", sms.Text, post.MailedCard)


@dataclass
class ChannelReport:
    """What one run did on one channel, through which provider."""

    provider: str
    sent: list[int] = field(default_factory=list)
    dropped: dict[int, str] = field(default_factory=dict)
    deferred: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    #: touches whose number was suppressed because the provider reported it gone
    suppressed: list[int] = field(default_factory=list)


class _Drop(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def text_refusal(session: Session, member: Member) -> str | None:
    """Why this member may not get a text now, or ``None`` if they may."""
    if member.status != "active":
        return f"member is {member.status}"
    if not member.phone:
        return "no phone number"
    consent = consents_in_force(session, member.id).get("sms")
    if consent is False:
        return "text consent withdrawn"
    if is_suppressed(session, "sms", member.phone):
        return "phone number suppressed"
    if consent is None:
        return "no text consent"
    return None


def text_sender(settings: Settings, now: datetime) -> sms.TextSender | None:
    """The adapter ``sms_provider`` names (``None`` for ``none``); refused naming the setting
    that is missing."""
    if settings.sms_provider == "twilio":
        token = settings.twilio_auth_token.get_secret_value()
        for name, value in (("PATRONAGE_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                            ("PATRONAGE_TWILIO_AUTH_TOKEN", token),
                            ("PATRONAGE_TWILIO_FROM", settings.twilio_from)):
            if not value:
                raise PatronageError(f"{name}: required when PATRONAGE_SMS_PROVIDER is twilio")
        return sms.TwilioSender(account_sid=settings.twilio_account_sid, auth_token=token,
                                from_number=settings.twilio_from,
                                base_url=settings.twilio_base_url,
                                status_callback=settings.base_url.rstrip("/") + STATUS_PATH)
    if settings.sms_provider == "file":
        return sms.FileSender(_outbox(settings, "PATRONAGE_SMS_PROVIDER"), now=now)
    return None


def post_sender(settings: Settings, now: datetime) -> post.PostSender | None:
    """The adapter ``cards_via`` names (``None`` for ``batch``: the PDF export)."""
    if settings.cards_via == "lob":
        key = settings.lob_api_key.get_secret_value()
        if not key:
            raise PatronageError("PATRONAGE_LOB_API_KEY: required when PATRONAGE_CARDS_VIA "
                                 "is lob")
        return post.LobSender(api_key=key, base_url=settings.lob_base_url,
                              kind=settings.lob_mail_type,
                              from_address=settings.lob_from_address)
    if settings.cards_via == "file":
        return post.FileSender(_outbox(settings, "PATRONAGE_CARDS_VIA"), now=now)
    return None


def close(sender: object) -> None:
    """Close an adapter's connection, if it keeps one."""
    closer = getattr(sender, "close", None)
    if callable(closer):
        closer()


def _outbox(settings: Settings, which: str) -> Path:
    if not settings.care_outbox_dir:
        raise PatronageError(f"PATRONAGE_CARE_OUTBOX_DIR: required when {which} is file")
    return Path(settings.care_outbox_dir)


def _claim(session: Session, touch: Touch, now: datetime) -> bool:
    claimed = session.execute(  # type: ignore[attr-defined]
        update(Touch)
        .where(Touch.id == touch.id, Touch.status == "planned",
               Touch.attempts == touch.attempts)
        .values(attempts=Touch.attempts + 1, next_attempt_at=now + backoff(touch.attempts + 1))
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed == 1)


def _record(session: Session, touch: Touch, channel: str, accepted: Accepted,
            now: datetime) -> None:
    row = session.scalar(select(CareDelivery).where(CareDelivery.touch_id == touch.id))
    status = "delivered" if accepted.status == "delivered" else "sent"
    if row is None:
        session.add(CareDelivery(touch_id=touch.id, channel=channel, provider=accepted.provider,
                                 provider_ref=accepted.ref[:64], status=status, detail="",
                                 sent_at=now, updated_at=now))
    else:  # sent again after an uncertain failure: the latest reference
        row.provider, row.provider_ref, row.status = accepted.provider, accepted.ref[:64], status
        row.detail, row.updated_at = "", now


def _deliver(engine: Engine, now: datetime, channel: str, send: Callable[[P], Accepted],
             prepare: Callable[[Session, Touch, Member], P], report: ChannelReport, *,
             rules: Rules | None, max_attempts: int, limit: int,
             gone: Callable[[P], str | None]) -> ChannelReport:
    late_after = late_window(rules)
    with transaction(engine) as session:
        ids = list(session.scalars(due_query(channel, now, limit).where(
            Touch.card_batch_id.is_(None))))
    for touch_id in ids:
        payload: P | None = None
        member_id = 0
        try:
            with transaction(engine) as session:
                touch = session.get(Touch, touch_id, with_for_update=True)
                if touch is None or touch.status != "planned" or (
                        touch.next_attempt_at is not None and touch.next_attempt_at > now):
                    continue
                member_id = touch.member_id
                member = session.get(Member, touch.member_id)
                assert member is not None
                try:
                    late = lateness(touch.due_at, now, late_after) if touch.attempts == 0 \
                        else None
                    if late is not None:
                        raise _Drop(late)
                    payload = prepare(session, touch, member)
                except _Drop as drop:
                    touch.status, touch.drop_reason = "dropped", drop.reason[:200]
                    report.dropped[touch.id] = drop.reason
                    continue
                if not _claim(session, touch, now):
                    continue
        except Exception as exc:  # one bad record: fail this touch, go on with the others
            _fail(engine, touch_id, failure_text(member_id, exc), report)
            continue
        assert payload is not None
        try:
            accepted: Accepted | None = send(payload)
            failure: SendFailed | None = None
        except SendFailed as exc:
            accepted, failure = None, exc
        except Exception as exc:  # an adapter's own error will not go away on a retry
            accepted, failure = None, SendFailed(failure_text(member_id, exc), lasting=True)
        _settle(engine, touch_id, channel, now, accepted, failure, max_attempts, report,
                gone(payload))
    return report


def _fail(engine: Engine, touch_id: int, reason: str, report: ChannelReport) -> None:
    with transaction(engine) as session:
        touch = session.get(Touch, touch_id)
        if touch is None or touch.status not in ("planned", "failed"):
            return
        touch.status, touch.last_error, touch.next_attempt_at = "failed", reason[:500], None
    report.failed[touch_id] = reason


def _settle(engine: Engine, touch_id: int, channel: str, now: datetime,
            accepted: Accepted | None, failure: SendFailed | None, max_attempts: int,
            report: ChannelReport, number: str | None) -> None:
    with transaction(engine) as session:
        touch = session.get(Touch, touch_id)
        assert touch is not None
        if accepted is not None:
            touch.status, touch.sent_at = "sent", now
            touch.next_attempt_at, touch.last_error = None, None
            _record(session, touch, channel, accepted, now)
            report.sent.append(touch_id)
            return
        assert failure is not None
        touch.last_error = failure.reason[:500]
        if failure.lasting or touch.attempts >= max_attempts:
            touch.status, touch.next_attempt_at = "failed", None
            report.failed[touch_id] = failure.reason
        else:
            report.deferred[touch_id] = failure.reason
        if isinstance(failure, TextFailed) and failure.number_gone and number:
            # the reason names the provider's error, never the number (kept only as a hash)
            suppress(session, "sms", number, reason=f"provider: error {failure.code}", at=now)
            report.suppressed.append(touch_id)


def deliver_texts(engine: Engine, now: datetime, *, settings: Settings,
                  sender: sms.TextSender, templates: TemplateSet | None = None,
                  rules: Rules | None = None, max_attempts: int = MAX_ATTEMPTS,
                  limit: int = 1000) -> ChannelReport:
    """Send the due text touches through ``sender`` (see the module's description)."""
    require_aware(now, place="now")
    tset = templates or default_templates()

    def prepare(session: Session, touch: Touch, member: Member) -> sms.Text:
        reason = text_refusal(session, member)
        if reason is not None:
            raise _Drop(reason)
        number = member.phone or ""
        if not sms.is_e164(number):
            raise PatronageError(f"phone number is not in E.164 (+ and country code): "
                                 f"{number!r}")
        body = tset.sms(touch.template, build_context(session, touch, now, settings=settings))
        return sms.Text(touch.id, number, body)

    return _deliver(engine, now, "sms", sender.send, prepare, ChannelReport(sender.name),
                    rules=rules, max_attempts=max_attempts, limit=limit,
                    gone=lambda text: text.to)


def deliver_mailed_cards(engine: Engine, now: datetime, *, settings: Settings,
                         sender: post.PostSender, templates: TemplateSet | None = None,
                         rules: Rules | None = None, max_attempts: int = MAX_ATTEMPTS,
                         limit: int = 1000) -> ChannelReport:
    """Mail the due card touches through ``sender`` (a print-and-mail service) instead of
    batching them for printing (see the module's description)."""
    require_aware(now, place="now")
    tset = templates or default_templates()

    def prepare(session: Session, touch: Touch, member: Member) -> post.MailedCard:
        reason = card_refusal(member, consents_in_force(session, member.id).get("post"))
        if reason is not None:
            raise _Drop(reason)
        content = tset.card(touch.template, build_context(session, touch, now,
                                                          settings=settings))
        to = post.Recipient(member.name, member.address_line1 or "", member.address_line2,
                            member.city or "", member.region, member.postal_code,
                            member.country or "")
        return post.MailedCard(touch.id, to, content)

    return _deliver(engine, now, "card", sender.send, prepare, ChannelReport(sender.name),
                    rules=rules, max_attempts=max_attempts, limit=limit,
                    gone=lambda card: None)


def recent_deliveries(session: Session, limit: int = 20) -> list[dict[str, object]]:
    """The latest texts and mailed cards handed to a provider, the newest first (for the staff
    Care page)."""
    rows = session.execute(
        select(CareDelivery, Touch.template, Member.first_name, Member.last_name)
        .join(Touch, Touch.id == CareDelivery.touch_id)
        .join(Member, Member.id == Touch.member_id)
        .order_by(CareDelivery.updated_at.desc(), CareDelivery.id.desc()).limit(limit)).all()
    return [{"touch": d.touch_id, "channel": d.channel, "provider": d.provider,
             "ref": d.provider_ref, "status": d.status, "detail": d.detail,
             "at": d.updated_at, "template": template, "member": f"{first} {last}".strip()}
            for d, template, first, last in rows]
