"""The company dashboard's figures as last counted: sales by week, the volume mix, autoship
retention and forecast, members by kind. Counting them reads months of orders and every
subscription, so a scheduled job counts them and the page shows them with the time they were
counted (``patronage.web.views.figures``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from patronage.db.base import Base, UTCDateTime


class CompanyFigures(Base):
    """One count of the dashboard's figures (JSON), and when it was counted."""

    __tablename__ = "company_figures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: the ``now`` the figures are of (the time the dashboard would have been read)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[str] = mapped_column(Text)
