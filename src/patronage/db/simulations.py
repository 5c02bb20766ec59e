"""Simulations kept for staff to read again and compare (a simulation writes nothing else)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class SimulationRecord(Base):
    """One simulation: the plan text it ran, its parameters and customer models (JSON), its
    seed, and its month-by-month figures (JSON, one object per month)."""

    __tablename__ = "simulations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    plan_version: Mapped[str] = mapped_column(String(64))
    plan_text: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text)
    models: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    months: Mapped[int] = mapped_column(SmallInteger)
    market: Mapped[int] = mapped_column(BigInteger)
    people: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[str] = mapped_column(Text)
    seconds_simulation: Mapped[float] = mapped_column(Float)
    seconds_engine: Mapped[float] = mapped_column(Float)
