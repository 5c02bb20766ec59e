"""Samples and gifts sent with care cards: the budgets that pay for them, and each gift sent
(see :mod:`patronage.care.gifts`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class GiftBudget(Base):
    """What a payer may spend on gifts (minor units, at cost): ``payer_id`` a distributor, or
    none for the company; per calendar month in all, and per customer per calendar year."""

    __tablename__ = "care_gift_budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    per_month: Mapped[int] = mapped_column(BigInteger)
    per_customer_year: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Gift(Base):
    """One gift sent with a card touch (``touch_id``, a care touch's id): the zero-price order
    it made and its cost."""

    __tablename__ = "care_gifts"
    __table_args__ = (Index("ix_care_gifts_payer", "payer_id", "sent_at"),
                      Index("ix_care_gifts_member", "member_id", "sent_at"))

    touch_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    cost: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
