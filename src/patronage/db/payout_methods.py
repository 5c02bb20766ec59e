"""Payout methods and tax ids, stored encrypted; their change log; who may read tax ids.

A *payout method* is the account a distributor is paid into (one per member): its details are
kept only as a Fernet token (``sealed``, see ``patronage.payouts.secrets``); ``label`` is the
kind and the masked number (``US bank account •••• 6789``) that pages and emails show. Every
set or change is a row of *payout method changes*: when, by whom, from what to what, and the
email telling the distributor (sent after the change is committed, once). A *tax id* is kept
the same way, with its country, kind and last four characters in the clear. A *tax id reader*
is a staff account allowed to see tax ids in full (each look is written to the audit log).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

NOTICE_STATUSES = ("pending", "sent", "failed", "no_email")


class PayoutMethod(Base):
    """The account a distributor is paid into (``kind``: iban, us_ach, ca_eft, ewallet)."""

    __tablename__ = "payout_methods"
    __table_args__ = (
        CheckConstraint("kind IN ('iban', 'us_ach', 'ca_eft', 'ewallet')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(80))
    sealed: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(254))


class PayoutMethodChange(Base):
    """One set or change of a payout method, and the email that told the distributor."""

    __tablename__ = "payout_method_changes"
    __table_args__ = (
        CheckConstraint("notice IN ('pending', 'sent', 'failed', 'no_email')", name="notice"),
        Index("ix_payout_method_changes_member", "member_id", "at"),
        Index("ix_payout_method_changes_notice", "notice"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(254))
    previous: Mapped[str | None] = mapped_column(String(80))
    current: Mapped[str] = mapped_column(String(80))
    notice: Mapped[str] = mapped_column(String(16))
    notice_detail: Mapped[str | None] = mapped_column(Text)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaxIdRecord(Base):
    """A member's tax id: country, kind and last four in the clear, the number sealed."""

    __tablename__ = "tax_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(8))
    last_four: Mapped[str] = mapped_column(String(4))
    sealed: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(254))


class TaxIdReader(Base):
    """A staff account allowed to see tax ids in full."""

    __tablename__ = "tax_id_readers"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[str] = mapped_column(String(254))
