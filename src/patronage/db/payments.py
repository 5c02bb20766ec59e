"""Payments through a card provider (Stripe): each member's customer record and saved cards at
the provider, the charges and refunds asked of it (one row per idempotency key), and the
provider's webhook events, each handled once.

Card numbers never reach these tables: a saved card is the provider's reference to it, with its
brand, last four digits and expiry for display.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

CHARGE_STATUSES = ("pending", "succeeded", "declined", "failed")


class PaymentCustomer(Base):
    """A member's customer record at the provider (made when they first save a card)."""

    __tablename__ = "payment_customers"

    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provider: Mapped[str] = mapped_column(String(16))
    customer_ref: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentMethod(Base):
    """A card saved at the provider (through a SetupIntent): its reference and what may be shown
    of it. The member's newest active card is the one charged."""

    __tablename__ = "payment_methods"
    __table_args__ = (Index("ix_payment_methods_member", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(16))
    method_ref: Mapped[str] = mapped_column(String(255), unique=True)
    brand: Mapped[str] = mapped_column(String(32))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(SmallInteger)
    exp_year: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16))  # active | removed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CardFingerprint(Base):
    """The provider's fingerprint of a saved card's number (the same card saved by two accounts
    has the same one), by the card's reference: finds accounts sharing a card
    (docs/compliance.md). Cards saved before it was kept, or without one, have no row."""

    __tablename__ = "card_fingerprints"
    __table_args__ = (Index("ix_card_fingerprints_fingerprint", "fingerprint"),)

    method_ref: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))


class PaymentCharge(Base):
    """One charge asked of the provider, by our idempotency key (also the provider's
    Idempotency-Key): written ``pending`` before the provider is asked, settled after."""

    __tablename__ = "payment_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    provider: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    intent_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    decline: Mapped[str | None] = mapped_column(String(64))
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The provider's time of the latest event applied (seconds since 1970): older events that
    #: arrive later change nothing.
    event_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentRefund(Base):
    """A refund asked of the provider against a charge, by our idempotency key."""

    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    charge_key: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    refund_ref: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentEvent(Base):
    """A webhook event of the provider, stored in the transaction that applies it: an event id
    is handled once, however often it is delivered."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    object_ref: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[int] = mapped_column(BigInteger)  # the provider's time, seconds since 1970
    outcome: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
