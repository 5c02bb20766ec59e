"""Compliance figures kept per committed run (a committed run never changes, so neither do
they); buy-backs and cooling-off cancellations; the distributor agreement's versions; the
company's own forbidden claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


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


class BuyBack(Base):
    """Inventory a distributor sent back (``buy_back``: at the company's share of the net
    price) or an enrollment cancelled within the cooling-off days (``cooling_off``: in full);
    the refund it made claws back the commissions paid on the order."""

    __tablename__ = "buy_backs"
    __table_args__ = (Index("ix_buy_backs_member", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), unique=True)
    share_bp: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class AgreementVersion(Base):
    """A version of the distributor agreement and policies the company published; the newest
    published is the one members accept."""

    __tablename__ = "agreement_versions"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForbiddenClaim(Base):
    """A phrase the company forbids in what distributors send and publish, with the reason."""

    __tablename__ = "forbidden_claims"

    phrase: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # income | health
    reason: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlagClearance(Base):
    """Staff looked into a compliance flag and cleared it, with a note. ``kind`` names the
    pattern (``loading``, ``rank_returns``, ``shared_address``, ``shared_card``,
    ``no_customers``); ``subject`` what was judged: the month (``YYYY-MM``) for the monthly
    patterns, the group of accounts (a digest of the shared key and its members) for shared
    accounts, so a new account joining the group raises a new flag."""

    __tablename__ = "flag_clearances"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True,
                                           autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    note: Mapped[str] = mapped_column(Text)
    cleared_by: Mapped[str] = mapped_column(String(100))
    cleared_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WithheldPayment(Base):
    """What the plan's customer-volume rule withheld from a distributor in a committed run, for
    one payout line name (the sum of its withheld lines), and what became of it: released by a
    later run (``released_in_run_id``), forfeited (``forfeited_in_run_id``: the run that found
    it past the plan's ``release_withheld_within``, or the run itself when the plan releases
    nothing), or neither yet (pending)."""

    __tablename__ = "withheld_payments"
    __table_args__ = (Index("ix_withheld_payments_member", "member_id"),
                      Index("ix_withheld_payments_run", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The payout line's stored code (the compensation registry's, as in ``payout_lines``).
    bonus: Mapped[int] = mapped_column(SmallInteger)
    lines: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    released_in_run_id: Mapped[int | None] = mapped_column(ForeignKey("commission_runs.id"))
    forfeited_in_run_id: Mapped[int | None] = mapped_column(ForeignKey("commission_runs.id"))
