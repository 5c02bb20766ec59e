"""The shop: members' share codes, how each sign-up was attributed, checkouts (one per
idempotency key from the page), agreements accepted at enrollment, and leads passed on.

A *share code* is the short, unguessable and stable part of a member's link ``/join/<code>``.
A *checkout* row is written in the same transaction as the order it made, under the page's
idempotency key: a repeated submit finds it and shows the same confirmation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

#: How a checkout ended: ``once`` (a one-time order), ``autoship`` (an order and an autoship),
#: ``preferred`` (signed up as a preferred customer, with an order), ``enroll`` (a distributor's
#: enrollment, with or without a pack).
CHECKOUT_PLANS = ("once", "autoship", "preferred", "enroll")


class ShareCode(Base):
    """A member's personal share code (one per member, never changed)."""

    __tablename__ = "share_codes"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShareLinkSide(Base):
    """The side of the placement tree a distributor's share link places the distributors who
    join through it (0 left, 1 right); no row: the plan's placement rule."""

    __tablename__ = "share_link_sides"
    __table_args__ = (CheckConstraint("side IN (0, 1)", name="side"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    side: Mapped[int] = mapped_column(SmallInteger)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attribution(Base):
    """How a member who joined through the shop was attributed: the code of the link they came
    by (``None``: none), the owner or sponsor and referrer given, and whether the link fell back
    to the house account (its distributor unknown or terminated)."""

    __tablename__ = "shop_attributions"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    house_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkout(Base):
    """One completed checkout: the page's idempotency key, the buyer, the order, the autoship
    (if one was started), the charge key and the amounts (minor units of ``currency``)."""

    __tablename__ = "shop_checkouts"
    __table_args__ = (Index("ix_shop_checkouts_member", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    plan: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    charge_key: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    tax_label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreementAcceptance(Base):
    """A distributor agreement accepted: which version, when, from which address and browser."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (Index("ix_agreement_acceptances_member", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(Text)


class Lead(Base):
    """Someone a customer passed on to their distributor: the contact and task it became, and
    the member it joined as (credited to the customer as referrer)."""

    __tablename__ = "shop_leads"
    __table_args__ = (Index("ix_shop_leads_email", "email"), Index("ix_shop_leads_phone_key",
                                                                  "phone_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    touch_id: Mapped[int | None] = mapped_column(ForeignKey("care_touches.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    joined_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
