"""The placement (binary) tree beside the sponsor tree, dated so it can be read as of any
moment; and the binary leg volume each committed run carries to the next period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class PlacementRecord(Base):
    """``member`` placed on ``side`` (0 left, 1 right) of ``parent`` (None: at the top) from
    ``placed_at`` until ``ended_at`` (None: still there). A staff move ends one row and starts
    another; the member's own downline moves with them."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("side IN (0, 1)", name="side"),
        CheckConstraint("parent_id IS NULL OR parent_id <> member_id", name="not_own_parent"),
        Index("ix_placements_member", "member_id", "placed_at"),
        # At any moment a member has one place, and a side of a parent holds one member.
        Index("uq_placements_open_member", "member_id", unique=True,
              sqlite_where="ended_at IS NULL", postgresql_where="ended_at IS NULL"),
        Index("uq_placements_open_spot", "parent_id", "side", unique=True,
              sqlite_where="ended_at IS NULL", postgresql_where="ended_at IS NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    side: Mapped[int] = mapped_column(SmallInteger)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    placed_by: Mapped[str] = mapped_column(String(100))


class BinaryCarry(Base):
    """Leg volume (hundredths of a point) a committed run carries to the next period, for
    members with some."""

    __tablename__ = "binary_carry"

    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id"), primary_key=True,
                                        autoincrement=False)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    left_volume: Mapped[int] = mapped_column(BigInteger)
    right_volume: Mapped[int] = mapped_column(BigInteger)
