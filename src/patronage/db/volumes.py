"""The open period's volumes per distributor, as last counted (``open_volumes``), and what
each count holds (``open_volume_counts``): the orders, refunds and owner moves up to a watermark.

Pages read a count and add the orders and refunds written after it (read by id and by time,
both indexed), so what they show stays exact (``patronage.compensation.open_volumes``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
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
