"""The outbox: deliver the touches that are due.

``deliver_due`` sends every planned email touch whose time has come, and, given a folder,
exports the printed cards due as one PDF batch. Texts go through the SMS provider's adapter, and
cards through a print-and-mail service's instead of the batch when one is set
(:mod:`patronage.care.dispatch`). Personal tasks are not delivered: the owner distributor sees
them (:mod:`patronage.care.tasks`).

Right before each email, consent and suppression are checked again (they may have changed
since the touch was planned); a touch that may no longer be sent is *dropped* with the reason.
The email is written with the template of the playbook the member's owner adopted, if it has
one that fits, else the company's; an email whose text makes a claim the company forbids is
dropped with the phrase and the reason (:mod:`patronage.care.playbook_templates`).

Exactly once, as far as SMTP allows. Each attempt is first *claimed* in its own committed
transaction: ``attempts`` goes up by one and ``next_attempt_at`` moves forward by the backoff,
on the condition that nobody else claimed it meanwhile. Only then does the message leave; once
the server has accepted it, the touch is marked sent. So two deliverers never send one touch, a
server that is down costs one attempt and a wait (5 minutes, doubling, at most 6 hours), and
after ``max_attempts`` the touch is *failed*. The one uncertain case is a crash between the
server's acceptance and the mark: the claim has pushed ``next_attempt_at`` forward, and after
that wait the message is sent again. We choose at-least-once over at-most-once for this case
(a lost thank-you cannot be seen; a second copy can), and the copy carries the same
``Message-ID`` so that it is recognisable as the same message.

One bad record never stops a run. A touch whose member's stored address is not one valid
address (old data, from before addresses were checked) is *failed* with the reason, and so is
a touch that meets any other error of its own; the run goes on with the others, and the report
lists every failure ("member 123: email address is not valid: ..."). A touch due more than the
rules' ``lookback_days`` before the run is *dropped* as late (:mod:`patronage.care.outcomes`),
and the run ends by closing every touch still planned past its window, on every channel
(:mod:`patronage.care.sweep`): none stays planned for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, Select, func, or_, select, update
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from patronage.care.channels.post import PostSender
    from patronage.care.channels.sms import TextSender
    from patronage.care.dispatch import ChannelReport

from patronage.care.channels.cards import CardBatch, export_cards
from patronage.care.channels.email import (
    Recipient,
    SendFailed,
    SmtpSender,
    build_message,
)
from patronage.care.content import TemplateSet, build_context, default_templates
from patronage.care.core.rules import Rules, load_rules
from patronage.care.gifts import GiftReport, send_gifts
from patronage.care.outcomes import failure_text, late_window, lateness
from patronage.care.playbook_templates import ForbiddenPhrase, Wording
from patronage.care.sweep import Closed, close_passed
from patronage.clock import require_aware
from patronage.compliance.claims import company_claims
from patronage.config import Settings
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Member
from patronage.errors import Conflict, NotFound, PatronageError
from patronage.network.intake import email_problem
from patronage.network.members import consents_in_force, is_suppressed

#: Templates that are service messages about the member's own account, not appreciation:
#: they go out unless the member objected or the address is suppressed.
SERVICE_TEMPLATES = frozenset({"payment_help", "order_confirmation"})
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
MAX_ATTEMPTS = 8


@dataclass
class DeliveryReport:
    """What one run did."""

    sent: list[int] = field(default_factory=list)
    dropped: dict[int, str] = field(default_factory=dict)
    deferred: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    cards: CardBatch | None = None
    cards_waiting: int = 0
    sms_waiting: int = 0
    #: touches closed because their window passed (see :mod:`patronage.care.sweep`)
    closed: Closed | None = None
    #: gifts sent with the cards due, and cards dropped for their gift's budget
    gifts: GiftReport | None = None
    #: texts sent through the SMS provider (``None`` when no provider is set)
    texts: ChannelReport | None = None
    #: cards mailed through the print-and-mail service (``None`` when cards are batched)
    mailed: ChannelReport | None = None


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th try: 5 minutes, doubling, at most 6 hours."""
    wait: timedelta = BACKOFF_FIRST * (2 ** max(attempts - 1, 0))
    return min(wait, BACKOFF_MAX)


def email_refusal(session: Session, member: Member, template: str) -> str | None:
    """Why this member may not get this email now, or ``None`` if they may."""
    if member.status != "active":
        return f"member is {member.status}"
    if not member.email:
        return "no email address"
    consent = consents_in_force(session, member.id).get("email")
    if consent is False:
        return "email consent withdrawn"
    if is_suppressed(session, "email", member.email):
        return "email address suppressed"
    if consent is None and template not in SERVICE_TEMPLATES:
        return "no email consent"
    return None


def due_query(channel: str, now: datetime, limit: int) -> Select[int]:
    """Planned touches of a channel due at ``now`` and not waiting for a retry."""
    return (
        select(Touch.id)
        .where(Touch.status == "planned", Touch.channel == channel, Touch.due_at <= now,
               or_(Touch.next_attempt_at.is_(None), Touch.next_attempt_at <= now))
        .order_by(Touch.priority.desc(), Touch.due_at, Touch.id)
        .limit(limit)
    )


def _fail(engine: Engine, touch_id: int, reason: str, report: DeliveryReport) -> None:
    """Record a touch as failed with the reason, in a transaction of its own."""
    with transaction(engine) as session:
        touch = session.get(Touch, touch_id)
        if touch is None or touch.status not in ("planned", "failed"):
            return
        touch.status, touch.last_error, touch.next_attempt_at = "failed", reason[:500], None
    report.failed[touch_id] = reason


def _prepare(session: Session, touch_id: int, now: datetime, settings: Settings,
             wording: Wording, report: DeliveryReport,
             late_after: timedelta) -> EmailMessage | None:
    """Check, render and claim one touch (in the caller's transaction); None if not to send."""
    touch = session.get(Touch, touch_id, with_for_update=True)
    if touch is None or touch.status != "planned":
        return None
    if touch.next_attempt_at is not None and touch.next_attempt_at > now:
        return None
    member = session.get(Member, touch.member_id)
    assert member is not None
    reason = email_refusal(session, member, touch.template)
    if reason is None and touch.attempts == 0:
        reason = lateness(touch.due_at, now, late_after)
    if reason is not None:
        touch.status, touch.drop_reason = "dropped", reason
        report.dropped[touch.id] = reason
        return None
    problem = email_problem(member.email or "")
    if problem is not None:
        raise PatronageError(f"email address is not valid: {problem}")
    try:
        ctx = build_context(session, touch, now, settings=settings)
        content = wording.email(session, touch, ctx)
    except ForbiddenPhrase as exc:  # the company forbids what it would say: not sent
        touch.status, touch.drop_reason = "dropped", str(exc)[:500]
        report.dropped[touch.id] = touch.drop_reason
        return None
    except PatronageError as exc:  # a template that cannot render will not on a retry either
        touch.status, touch.last_error = "failed", str(exc)[:500]
        touch.attempts += 1
        report.failed[touch.id] = touch.last_error
        return None
    msg = build_message(touch.id, Recipient(member.name, member.email or ""), content,
                        unsubscribe_url=ctx["links"]["unsubscribe"], settings=settings, now=now)
    claimed = session.execute(  # type: ignore[attr-defined]
        update(Touch)
        .where(Touch.id == touch.id, Touch.status == "planned",
               Touch.attempts == touch.attempts)
        .values(attempts=Touch.attempts + 1, next_attempt_at=now + backoff(touch.attempts + 1))
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    return msg


def _settle(engine: Engine, touch_id: int, now: datetime, failure: SendFailed | None,
            max_attempts: int, report: DeliveryReport) -> None:
    with transaction(engine) as session:
        touch = session.get(Touch, touch_id)
        assert touch is not None
        if failure is None:
            touch.status, touch.sent_at = "sent", now
            touch.next_attempt_at, touch.last_error = None, None
            report.sent.append(touch_id)
            return
        touch.last_error = failure.reason[:500]
        if failure.lasting or touch.attempts >= max_attempts:
            touch.status = "failed"
            touch.next_attempt_at = None
            report.failed[touch_id] = failure.reason
        else:
            report.deferred[touch_id] = failure.reason


def deliver_emails(engine: Engine, now: datetime, *, settings: Settings,
                   templates: TemplateSet | None = None, max_attempts: int = MAX_ATTEMPTS,
                   limit: int = 1000,
                   sender_factory: Callable[[Settings], SmtpSender] = SmtpSender,
                   report: DeliveryReport | None = None,
                   rules: Rules | None = None) -> DeliveryReport:
    """Send the due email touches (see the module docstring for the guarantees)."""
    require_aware(now, place="now")
    cfg = settings
    tset = templates or default_templates()
    out = report or DeliveryReport()
    late_after = late_window(rules)
    with transaction(engine) as session:
        ids = list(session.scalars(due_query("email", now, limit)))
        wording = Wording(tset, company_claims(session))
        if ids:
            wording.preload(session)
        member_of = dict(session.execute(
            select(Touch.id, Touch.member_id).where(Touch.id.in_(ids))).tuples().all())
    with sender_factory(cfg) as sender:
        for touch_id in ids:
            member_id = member_of[touch_id]
            try:
                with transaction(engine) as session:
                    msg = _prepare(session, touch_id, now, cfg, wording, out, late_after)
            except Exception as exc:  # one bad record: fail this touch, go on with the others
                _fail(engine, touch_id, failure_text(member_id, exc), out)
                continue
            if msg is None:
                continue
            failure: SendFailed | None = None
            try:
                sender.send(msg)
            except SendFailed as exc:
                failure = exc
            except Exception as exc:  # a message the library cannot send will not go later
                failure = SendFailed(failure_text(member_id, exc), lasting=True)
            _settle(engine, touch_id, now, failure, max_attempts, out)
    return out


def _count_waiting(engine: Engine, channel: str, now: datetime) -> int:
    with transaction(engine) as session:
        return int(session.scalar(
            select(func.count()).select_from(Touch).where(
                Touch.status == "planned", Touch.channel == channel, Touch.due_at <= now)
        ) or 0)


def deliver_due(engine: Engine, now: datetime, *, settings: Settings,
                cards_dir: Path | None = None, templates: TemplateSet | None = None,
                max_attempts: int = MAX_ATTEMPTS,
                sender_factory: Callable[[Settings], SmtpSender] = SmtpSender,
                rules: Rules | None = None, text_sender: TextSender | None = None,
                post_sender: PostSender | None = None) -> DeliveryReport:
    """Send what is due at ``now``: the gifts of the cards due (:mod:`patronage.care.gifts`),
    emails, texts through ``text_sender`` (default: the one the settings name, if any), and
    cards through ``post_sender`` (default: the settings' print-and-mail service), else as the
    card batch when ``cards_dir`` is given."""
    with transaction(engine) as session:
        gifts = send_gifts(session, now, rules or load_rules())
    report = deliver_emails(engine, now, settings=settings, templates=templates,
                            max_attempts=max_attempts, sender_factory=sender_factory,
                            rules=rules)
    from patronage.care import dispatch

    texts = text_sender if text_sender is not None else dispatch.text_sender(settings, now)
    if texts is not None:
        try:
            report.texts = dispatch.deliver_texts(engine, now, settings=settings, sender=texts,
                                                  templates=templates, rules=rules,
                                                  max_attempts=max_attempts)
        finally:
            if text_sender is None:  # the connection this run opened
                dispatch.close(texts)
    mail = post_sender if post_sender is not None else dispatch.post_sender(settings, now)
    if mail is not None:
        try:
            report.mailed = dispatch.deliver_mailed_cards(
                engine, now, settings=settings, sender=mail, templates=templates, rules=rules,
                max_attempts=max_attempts)
        finally:
            if post_sender is None:
                dispatch.close(mail)
    elif cards_dir is not None:
        report.cards = export_cards(engine, now, cards_dir, settings=settings,
                                    templates=templates, rules=rules)
    report.gifts = gifts
    with transaction(engine) as session:
        report.closed = close_passed(session, now, rules or load_rules(),
                                     grace_days=settings.occasion_grace_days)
    report.cards_waiting = _count_waiting(engine, "card", now)
    report.sms_waiting = _count_waiting(engine, "sms", now)
    return report


def requeue(session: Session, touch_id: int, *, now: datetime) -> Touch:
    """Give a failed email, text or card touch another round of attempts, due at ``now``.

    For after a long outage (the attempts ran out) or a fixed template. Consent is checked
    again when it goes out; a touch that was sent, done, dropped or cancelled is refused.
    """
    require_aware(now, place="now")
    touch = session.get(Touch, touch_id)
    if touch is None:
        raise NotFound(f"touch {touch_id} does not exist")
    if touch.status != "failed":
        raise Conflict(f"touch {touch_id} is {touch.status}; only a failed touch is requeued")
    touch.status, touch.attempts, touch.next_attempt_at = "planned", 0, None
    touch.due_at = max(touch.due_at, now)
    session.flush()
    return touch
