"""Product credit: one ledger per member and currency, every change an entry with its source.

A balance is the sum of the member's entries in a currency. Each entry has a unique ``key``
saying what made it (the payout line it was earned by, the autoship attempt it pays, ...), so
posting the same thing twice writes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime

#: earned (+, a reward's payout line), applied (−, to an order), released (+, an applied
#: amount given back when the card part of the payment failed), expired (−), clawed_back (−,
#: a clawback line of an earned reward), refunded (+, the credit part of a refunded order).
CREDIT_KINDS = ("earned", "applied", "released", "expired", "clawed_back", "refunded")


class CreditEntry(Base):
    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('earned', 'applied', 'released', 'expired', 'clawed_back', "
                        "'refunded')", name="kind"),
        CheckConstraint("(kind IN ('earned', 'released', 'refunded') AND amount > 0) OR "
                        "(kind IN ('applied', 'expired', 'clawed_back') AND amount < 0)",
                        name="sign"),
        Index("ix_credit_entries_member", "member_id", "currency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of ``currency``, signed
    currency: Mapped[str] = mapped_column(String(3))
    key: Mapped[str] = mapped_column(String(128), unique=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    payout_line_id: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer)
    subscription_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")
