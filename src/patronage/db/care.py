"""Care: the touches planned and made for members, survey answers, testimonials and notes.

These are the records the rest of the system reads: customer value counts personal touches and
replies (the emotional value), survey answers (feedback) and testimonials; the back office lists
a distributor's tasks and a customer's history from them.

A *touch* is one act of appreciation for one member: an email, a printed card, or a personal task
for the owner distributor (call, hand-written note). It is planned at most once per
(rule, member, occasion key) and then moves through its statuses; it is never deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

TOUCH_CHANNELS = ("email", "card", "task", "sms")
#: planned: waiting for its time; sent: delivered (email, card exported); done: a task the
#: distributor marked done; dropped: not made (cap, consent, mute, holdout...), with the reason;
#: failed: delivery gave up; cancelled: withdrawn before it was due (its conditions no longer hold);
#: expired: a personal task (a birthday call) whose day passed more than the grace period ago.
TOUCH_STATUSES = ("planned", "sent", "done", "dropped", "failed", "cancelled", "expired")
TESTIMONIAL_STATUSES = ("submitted", "approved", "rejected", "published", "withdrawn")
#: open: its cards are chosen and its file is being written; done: the file is written and its
#: cards are marked sent.
CARD_BATCH_STATUSES = ("open", "done")
#: Channels delivered through a provider's adapter (a text, a card mailed by a print service).
DELIVERY_CHANNELS = ("sms", "card")
#: sent: the provider accepted it; delivered: the provider reported it delivered; failed: the
#: provider could not deliver it (the reason in ``detail``).
DELIVERY_STATUSES = ("sent", "delivered", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Touch(Base):
    """One planned or made touch. ``member_id`` is who it is for; ``owner_id`` the distributor
    who serves them when it was planned (the one who gets a task). ``occasion_key`` tells the
    occasions of one rule apart (``2026`` for a birthday, an order id for a thank-you)."""

    __tablename__ = "care_touches"
    __table_args__ = (
        CheckConstraint(_in("channel", TOUCH_CHANNELS), name="channel"),
        CheckConstraint(_in("status", TOUCH_STATUSES), name="status"),
        UniqueConstraint("rule_key", "member_id", "occasion_key", name="uq_care_touches_once"),
        Index("ix_care_touches_member", "member_id", "due_at"),
        Index("ix_care_touches_owner", "owner_id", "status", "due_at"),
        Index("ix_care_touches_due", "status", "due_at"),
        Index("ix_care_touches_card_batch", "card_batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    rule_key: Mapped[str] = mapped_column(String(64))
    occasion: Mapped[str] = mapped_column(String(32))
    occasion_key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(100))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drop_reason: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Delivery through the outbox: each try is claimed (attempts + 1, next_attempt_at pushed
    # forward) in a committed transaction before the message leaves, then marked sent.
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: The printed-card batch this card was chosen for (a card is in at most one batch).
    card_batch_id: Mapped[int | None] = mapped_column(ForeignKey("care_card_batches.id"))
    #: A task the distributor snoozed stays off their Today until then.
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CardBatchRecord(Base):
    """One export of printed cards: its cards are chosen (``care_touches.card_batch_id``) in one
    transaction before the file is written; an ``open`` batch is finished by the next export,
    which writes the same file for the same cards."""

    __tablename__ = "care_card_batches"
    __table_args__ = (CheckConstraint(_in("status", CARD_BATCH_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    file_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), default="open")
    cards: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyResponse(Base):
    """An answer to a short survey ("How can I better serve you?" and a 0–10 score)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score BETWEEN 0 AND 10)", name="score"),
        Index("ix_survey_responses_member", "member_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    touch_id: Mapped[int | None] = mapped_column(ForeignKey("care_touches.id"))
    survey_key: Mapped[str] = mapped_column(String(64))
    score: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Testimonial(Base):
    """A member's story. Published only with ``consent_to_publish`` and after moderation; a
    distributor's (or other insider's) testimonial carries ``discloses_connection``."""

    __tablename__ = "testimonials"
    __table_args__ = (
        CheckConstraint(_in("status", TESTIMONIAL_STATUSES), name="status"),
        Index("ix_testimonials_member", "member_id"),
        Index("ix_testimonials_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(String(500))
    consent_to_publish: Mapped[bool] = mapped_column(Boolean)
    discloses_connection: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moderated_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberNote(Base):
    """A note a distributor (or the company) keeps about a member: a call, a preference."""

    __tablename__ = "member_notes"
    __table_args__ = (Index("ix_member_notes_member", "member_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    """Someone a distributor knows (imported from a phone's vCard or a CSV, or met), who may or
    may not be a member yet. Birthdays without a year are kept as month and day."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(
            "birth_month IS NULL OR (birth_month BETWEEN 1 AND 12)", name="birth_month"
        ),
        CheckConstraint("birth_day IS NULL OR (birth_day BETWEEN 1 AND 31)", name="birth_day"),
        Index("ix_contacts_owner", "owner_id"),
        Index("ix_contacts_email", "owner_id", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(32))  # vcard | csv | met | member
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CareDelivery(Base):
    """A touch handed to a provider (a text to the SMS provider, a card to the print-and-mail
    service): the provider's reference for it and what the provider last reported."""

    __tablename__ = "care_deliveries"
    __table_args__ = (
        CheckConstraint(_in("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        UniqueConstraint("touch_id", name="uq_care_deliveries_touch"),
        UniqueConstraint("provider", "provider_ref", name="uq_care_deliveries_ref"),
        Index("ix_care_deliveries_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    touch_id: Mapped[int] = mapped_column(ForeignKey("care_touches.id"))
    channel: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="sent")
    detail: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
