"""The open period's volumes per distributor, as last counted (``open_volumes``), and what
each count holds (``open_volume_counts``): the orders, refunds and owner moves up to a watermark.

Pages read a count and add the orders and refunds written after it (read by id and by time,
both indexed), so what they show stays exact (``patronage.compensation.open_volumes``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class OpenVolumeCount(Base):
    """One count of a period's volumes: of the orders with ids up to ``orders_through`` placed
    before ``as_of`` (and at it, for personal volume), the refunds with ids up to
    ``refunds_through`` made before it, customers owned as the genealogy changes up to
    ``changes_through`` left them."""

    __tablename__ = "open_volume_counts"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: when the period starts (in the company's zone)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the ``now`` the volumes are of
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    orders_through: Mapped[int] = mapped_column(Integer)
    refunds_through: Mapped[int] = mapped_column(Integer)
    changes_through: Mapped[int] = mapped_column(Integer)
    #: the newest member when counted (a distributor joined after it: pages do not use the
    #: stored flags)
    members_through: Mapped[int] = mapped_column(Integer, default=0)
    #: the committed run the flags were judged with, and the digest of the open period's plan
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plan_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OpenVolume(Base):
    """A member's volumes in a counted period (hundredths of a point).

    ``own_pv``: their own paid lines bought as a distributor, less the points refunded in the
    period; ``customer_pv``: their customers' paid lines credited to them (customers they own),
    less the points refunded; ``consumption_cv``, ``promotional_cv``, ``customer_cv``: the CV of
    the paid orders credited to them by volume kind, and bought by customers (no refunds taken
    off, as the volume mix counts them)."""

    __tablename__ = "open_volumes"

    period: Mapped[str] = mapped_column(ForeignKey("open_volume_counts.period"),
                                        primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    own_pv: Mapped[int] = mapped_column(BigInteger)
    customer_pv: Mapped[int] = mapped_column(BigInteger)
    consumption_cv: Mapped[int] = mapped_column(BigInteger)
    promotional_cv: Mapped[int] = mapped_column(BigInteger)
    customer_cv: Mapped[int] = mapped_column(BigInteger)


class HelpFlag(Base):
    """A distributor on one of "who needs help"'s lists as the count judged them, once per
    upline one to three levels above (``upline``, ``level``), so that a leader's lists are an
    index range each, already in the lists' order (``key1``, ``key2``, ``member_id``).

    ``list``: ``new`` (``joined_at``; judged at read time), ``inactive`` (active last committed
    period and short of the minimum PV: ``key1`` the points short), ``rank_risk`` (``key1``
    minus the rank paid as, ``key2`` the points short), ``close`` (``key1`` the GV short,
    ``rank`` the rank they are close to). ``pv``: the PV (GV for ``close``) shown."""

    __tablename__ = "help_flags"
    __table_args__ = (
        Index("ix_help_flags_upline", "period", "upline", "list", "key1", "key2", "member_id"),
    )

    period: Mapped[str] = mapped_column(ForeignKey("open_volume_counts.period"),
                                        primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    list: Mapped[str] = mapped_column(String(16), primary_key=True)
    upline: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    key1: Mapped[int] = mapped_column(BigInteger)
    key2: Mapped[int] = mapped_column(BigInteger)
    pv: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
