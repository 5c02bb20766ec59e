"""Committed commission runs: the snapshot (facts, plan), payout lines, ranks and skips.

Result rows name members and their run by id without foreign keys: the member ids come from the
members table when the facts are loaded, members are never deleted, each run's rows are written in
the transaction that writes the run, and runs are never deleted. A close writes millions of these
rows, where a per-row key check on PostgreSQL would cost more than the rest of the close.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from patronage.compensation.core.results import BONUSES, SOURCE_KINDS
from patronage.db.base import Base, NamedCode, UTCDateTime

#: A run's result rows are written in (run, member) order, so on PostgreSQL a block range index
#: (BRIN: the lowest and highest key of every 16 pages) finds a member's rows in a run as well
#: as a B-tree would, at next to no cost for the writes; the close summarises the new ranges.
BRIN = {"postgresql_using": "brin", "postgresql_with": {"pages_per_range": 16}}
RESULT_INDEXES = {"payout_lines": "ix_payout_lines_run_earner",
                  "rank_records": "ix_rank_records_run_member",
                  "payout_skips": "ix_payout_skips_run_member"}


def _in_write_order(name: str, *columns: str) -> Index:
    return Index(name, *columns, **BRIN)  # type: ignore[arg-type]


class CommissionRun(Base):
    """A committed period: locked, with the facts and plan it was computed from."""

    __tablename__ = "commission_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``YYYY-MM`` for a month, ``YYYY-Www`` for an ISO week (of :attr:`calendar`).
    period: Mapped[str] = mapped_column(String(8), unique=True)
    #: ``"month"`` or ``"week"``: periods are compared only with periods of their calendar.
    calendar: Mapped[str] = mapped_column(String(5), server_default="month")
    plan_name: Mapped[str] = mapped_column(String(200))
    plan_version: Mapped[str] = mapped_column(String(64))
    plan_text: Mapped[str] = mapped_column(Text)
    facts_digest: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    committed_by: Mapped[str] = mapped_column(String(100))
    total_cv: Mapped[int] = mapped_column(BigInteger)
    total_paid: Mapped[int] = mapped_column(BigInteger)
    cap_applied: Mapped[bool] = mapped_column(Boolean)
    # Whether its rank records hold the distributors' volume mix (runs committed before that
    # was recorded do not).
    volume_mix: Mapped[bool] = mapped_column(Boolean, server_default=false())


class CommissionSnapshot(Base):
    """The facts a committed run was computed from (see ``compensation.snapshot``): tens of
    megabytes for a large company, kept apart so that reading runs never reads them."""

    __tablename__ = "commission_snapshots"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    facts: Mapped[bytes] = mapped_column(LargeBinary)


class PayoutLine(Base):
    """One payment (or clawback, negative) to one earner from one source at one level."""

    __tablename__ = "payout_lines"
    # Rows of a run are written in (earner, bonus, source, level) order; clawbacks find their
    # lines through the run (docs/plan-file.md, "Clawbacks").
    __table_args__ = (_in_write_order("ix_payout_lines_run_earner", "run_id", "earner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    earner_id: Mapped[int] = mapped_column(Integer)
    bonus: Mapped[str] = mapped_column(NamedCode(BONUSES))  # stored as its number
    source_kind: Mapped[str] = mapped_column(NamedCode(SOURCE_KINDS))  # order | member
    source_id: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(SmallInteger)
    volume: Mapped[int] = mapped_column(BigInteger)
    rate_bp: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    clawback_of: Mapped[int | None] = mapped_column(Integer)
    #: The earner's currency (ISO 4217 number) and the amount in it at the run's frozen rate;
    #: ``None`` on lines of runs made before markets (paid in the company currency).
    currency: Mapped[int | None] = mapped_column(SmallInteger)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)


class RankRecord(Base):
    """A distributor's volumes and ranks in a committed period."""

    __tablename__ = "rank_records"
    __table_args__ = (_in_write_order("ix_rank_records_run_member", "run_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(Integer)
    pv: Mapped[int] = mapped_column(BigInteger)
    gv: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    paid_as: Mapped[int] = mapped_column(SmallInteger)  # rank index, -1 none
    title: Mapped[int] = mapped_column(SmallInteger)
    # CV of the period's paid orders credited to the distributor (hundredths of a point): by
    # volume kind, and of it what customers bought. Pages add these up over committed periods
    # instead of every order line again.
    consumption_cv: Mapped[int] = mapped_column(BigInteger, server_default="0")
    promotional_cv: Mapped[int] = mapped_column(BigInteger, server_default="0")
    customer_cv: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: The run's payout lines to the distributor summed (plan currency, clawbacks included):
    #: the income disclosure adds these up instead of every payout line of the year.
    earned: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: Customers of the distributor who bought in the period (the engine's active customers);
    #: NULL on runs committed before it was recorded.
    ordering_customers: Mapped[int | None] = mapped_column(Integer)
    #: The rank the period's volumes qualified for, before the plan's rules over time (ranks
    #: held for several periods, grace periods); NULL on runs committed before it was recorded.
    qualified: Mapped[int | None] = mapped_column(SmallInteger)


class PayoutSkip(Base):
    """A payment not made to the member first in line, and why."""

    __tablename__ = "payout_skips"
    __table_args__ = (_in_write_order("ix_payout_skips_run_member", "run_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    bonus: Mapped[str] = mapped_column(NamedCode(BONUSES))
    source_kind: Mapped[str] = mapped_column(NamedCode(SOURCE_KINDS))
    source_id: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(SmallInteger)
    member_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[int] = mapped_column(SmallInteger)
    passed_to_id: Mapped[int | None] = mapped_column(Integer)


class PlanVersion(Base):
    """A version of the company's compensation plan: the text as written, in force from the
    period ``effective_from`` (YYYY-MM) until the next version's start."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    plan_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[str] = mapped_column(String(7), index=True)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(100))


class RunPayee(Base):
    """A committed run's payout lines summed by earner (``patronage.compensation.totals``)."""

    __tablename__ = "run_payees"

    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id"), primary_key=True)
    earner_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    lines: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # paid amounts (earners' currencies)
    #: the largest currency number of the lines (an earner is paid in one currency); NULL for
    #: runs made before markets
    currency: Mapped[int | None] = mapped_column(SmallInteger)


Index("ix_run_payees_largest", RunPayee.run_id, RunPayee.amount.desc(), RunPayee.earner_id)


class RunBonusTotal(Base):
    """A committed run's payout lines summed by bonus (written with :class:`RunPayee`)."""

    __tablename__ = "run_bonus_totals"

    run_id: Mapped[int] = mapped_column(ForeignKey("commission_runs.id"), primary_key=True)
    bonus: Mapped[str] = mapped_column(NamedCode(BONUSES), primary_key=True)
    lines: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
