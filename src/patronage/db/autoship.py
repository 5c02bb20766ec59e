"""Autoship: subscriptions and their items, charge attempts, and the events other capabilities
read (care mutes win-back messages while a payment is being recovered).

Charge attempts and events name subscriptions, members and orders by id without foreign keys:
the daily run writes them in bulk for ids it has just read (subscriptions and members are never
deleted), and on PostgreSQL a per-row key check would cost more than the rest of the run.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
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

SUBSCRIPTION_STATUSES = ("active", "paused", "suspended", "cancelled")


class Subscription(Base):
    """A member's autoship. ``next_run`` is the date of the next cycle; while a failed charge is
    being retried, ``retry_on`` holds the next attempt and ``failures`` counts them.

    Not indexed by ``next_run`` or ``status``, and on PostgreSQL pages are written half full
    (migration 0005_autoship_hot_updates): the daily run's updates then stay on their pages."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'suspended', 'cancelled')",
                        name="status"),
        CheckConstraint("frequency IN ('monthly', 'weeks')", name="frequency"),
        Index("ix_subscriptions_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(8))
    day_of_month: Mapped[int] = mapped_column(SmallInteger)
    every_weeks: Mapped[int] = mapped_column(SmallInteger)
    market: Mapped[str | None] = mapped_column(String(2))
    next_run: Mapped[date] = mapped_column(Date)
    paused_until: Mapped[date | None] = mapped_column(Date)
    skipped_run: Mapped[date | None] = mapped_column(Date)  # what "undo skip" puts back
    retry_on: Mapped[date | None] = mapped_column(Date)
    failures: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    churn: Mapped[str | None] = mapped_column(String(16))  # voluntary | involuntary


class SubscriptionItem(Base):
    __tablename__ = "subscription_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        UniqueConstraint("subscription_id", "sku", name="uq_subscription_items_sku"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)


class ChargeAttempt(Base):
    """One charge of one cycle. Written before the gateway is asked (status ``pending``), so a
    run killed mid-way finds it and asks the gateway again with the same key. Settling it
    changes no indexed column, and on PostgreSQL its page has room for the settled version
    (fillfactor 50, migration 0005_autoship_hot_updates)."""

    __tablename__ = "autoship_attempts"
    __table_args__ = (
        UniqueConstraint("subscription_id", "cycle", "attempt", name="uq_autoship_attempts_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(Integer)
    cycle: Mapped[date] = mapped_column(Date)
    attempt: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | declined
    decline: Mapped[str | None] = mapped_column(String(32))
    #: Pending: the order's total; settled: what the card was charged (the total less the
    #: product credit applied, :mod:`patronage.credit.ledger`).
    amount: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AutoshipEvent(Base):
    """A dated fact about a subscription, with who caused it."""

    __tablename__ = "autoship_events"
    __table_args__ = (Index("ix_autoship_events_member", "member_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)


class AutoshipRun(Base):
    """The daily run of one day: ``holder`` names the run in progress (none when no run is),
    ``finished_at`` when a run of that day last finished. Two runs of one day never work at
    once: the second is refused while the first holds the day."""

    __tablename__ = "autoship_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SimulatedCharge(Base):
    """The simulated payment gateway's own ledger: one row per charge key, ever."""

    __tablename__ = "simulated_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    approved: Mapped[bool] = mapped_column()
    decline: Mapped[str | None] = mapped_column(String(32))
