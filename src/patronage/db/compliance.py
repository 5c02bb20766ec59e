"""Compliance figures kept per committed run (a committed run never changes, so neither do
they)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base


class RewardMixRecord(Base):
    """Of a committed run's payout, by the earners' paid-as rank (``-1`` none, ``-2`` every
    earner), how much came from enrollment packs and from new members (see
    :mod:`patronage.compliance.recruitment`)."""

    __tablename__ = "reward_mix"

    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id"), primary_key=True,
                                        autoincrement=False)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(BigInteger)
    enrollment: Mapped[int] = mapped_column(BigInteger)
    new_members: Mapped[int] = mapped_column(BigInteger)
