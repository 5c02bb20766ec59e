"""Customer value: each fit run, the models it fitted, and every member's values as of it.

Value rows name members by id without a foreign key: a run writes one row per member in bulk,
for ids just read from the members table (members are never deleted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class ValueRun(Base):
    """One fit-and-score of every member as of ``as_of``, with the settings it used."""

    __tablename__ = "value_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discount_monthly: Mapped[float] = mapped_column(Float)
    horizon_months: Mapped[int] = mapped_column(SmallInteger)
    referral_decay: Mapped[float] = mapped_column(Float)
    members: Mapped[int] = mapped_column(Integer)


class ValueFit(Base):
    """A model fitted in a run, on one segment (``segment`` "pooled" for the rest)."""

    __tablename__ = "value_fits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("value_runs.id"))
    model: Mapped[str] = mapped_column(String(16))
    segment: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)  # JSON: name -> value
    log_likelihood: Mapped[float] = mapped_column(Float)
    converged: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    n: Mapped[float] = mapped_column(Float)
    #: "fitted" on the company's data, or "prior": the model could not be fitted yet and its
    #: documented prior stood in (``message`` says why).
    source: Mapped[str] = mapped_column(String(8), default="fitted", server_default="fitted")
    #: JSON: name -> standard error from the Hessian at the optimum (null where there is none).
    standard_errors: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class CustomerValue(Base):
    """A member's values as of a run. Money in minor units; scores 0–100."""

    __tablename__ = "customer_values"
    __table_args__ = (
        # A member's values in a run, and what the owner's lists sort by, from the index alone.
        Index("ix_customer_values_member", "member_id", "run_id", "past_value", "future_value",
              "referral_value", "value_at_risk"),
        # An owner's customers most at risk (or most valuable) first, and the sums of their
        # values, from the index alone.
        Index("ix_customer_values_owner", "run_id", "owner_id", "value_at_risk",
              "member_id", "past_value", "future_value", "referral_value"),
    )

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The distributor whose customer the member is: written from ``members.owner_id`` with
    #: the run and kept equal to it when a customer moves or becomes a distributor (None).
    owner_id: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(16))  # sbg | bgnbd | none
    #: fitted | prior (some model behind the value was a prior: not fitted yet) | none
    source: Mapped[str] = mapped_column(String(8), default="fitted", server_default="fitted")
    segment: Mapped[str] = mapped_column(String(64))
    p_alive: Mapped[float] = mapped_column(Float)
    expected_orders: Mapped[float] = mapped_column(Float)
    #: The money columns are in the plan (default market) currency, for company-wide sums and
    #: rankings; the ``local_*`` columns the same values in ``currency``, the member's market
    #: currency (empty in runs made before markets: then the plan currency's are the values).
    past_value: Mapped[int] = mapped_column(BigInteger)
    future_value: Mapped[int] = mapped_column(BigInteger)
    referral_value: Mapped[int] = mapped_column(BigInteger)
    risk: Mapped[float] = mapped_column(Float)
    value_at_risk: Mapped[int] = mapped_column(BigInteger)
    risk_flags: Mapped[int] = mapped_column(SmallInteger)  # see value.customers.RISK_*
    currency: Mapped[str | None] = mapped_column(String(3))
    local_lifetime: Mapped[int | None] = mapped_column(BigInteger)
    local_referral: Mapped[int | None] = mapped_column(BigInteger)
    local_at_risk: Mapped[int | None] = mapped_column(BigInteger)
    consumption: Mapped[float] = mapped_column(Float)
    consistency: Mapped[float] = mapped_column(Float)
    referral: Mapped[float] = mapped_column(Float)
    rainmaker: Mapped[float] = mapped_column(Float)
    feedback: Mapped[float] = mapped_column(Float)
    testimonial: Mapped[float] = mapped_column(Float)
    emotional: Mapped[float] = mapped_column(Float)
    rainmaker_amount: Mapped[int] = mapped_column(BigInteger)
