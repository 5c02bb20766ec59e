"""Markets, prices per market, exchange rates and the rates each commission run froze.

A market is a country (or group of countries) the company sells in: its currency, languages,
time zone, tax rule, shipping countries, autoship last-allowed day and cooling-off days. Every
member belongs to one market; a product has a price and volume per market. Exchange rates are
exact decimals stored as integers scaled by 10⁹
(:data:`patronage.markets.core.conversion.RATE_SCALE`): units of the company (plan) currency
for one unit of the currency on that day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from patronage.db.base import Base, UTCDateTime


class Market(Base):
    """A country or group of countries with one currency and one set of rules.

    ``languages`` and ``shipping_countries`` are comma-separated (locales such as ``es-MX``;
    ISO 3166 alpha-2 codes). ``autoship_last_day``: the latest day of month an autoship may run
    on (``None``: any day). ``cooling_off_days``: the days a buyer may cancel under the market's
    law. ``is_default``: the company's default market (exactly one): where members not placed
    elsewhere buy; its currency is the plan currency."""

    __tablename__ = "markets"
    __table_args__ = (
        CheckConstraint("autoship_last_day IS NULL OR (autoship_last_day BETWEEN 1 AND 31)",
                        name="last_day"),
        CheckConstraint("cooling_off_days >= 0", name="cooling_off"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    languages: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    tax_inclusive: Mapped[bool] = mapped_column(Boolean)
    shipping_countries: Mapped[str] = mapped_column(Text)
    autoship_last_day: Mapped[int | None] = mapped_column(SmallInteger)
    cooling_off_days: Mapped[int] = mapped_column(SmallInteger)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ProductPrice(Base):
    """A product's prices in a market (minor units of the market's currency) and its volume there
    (hundredths of a point)."""

    __tablename__ = "product_prices"
    __table_args__ = (
        UniqueConstraint("product_id", "market_id", name="uq_product_prices_product_market"),
        CheckConstraint("retail_price >= 0 AND wholesale_price >= 0", name="prices"),
        CheckConstraint("qv >= 0 AND cv >= 0", name="volumes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id"))
    retail_price: Mapped[int] = mapped_column(BigInteger)
    wholesale_price: Mapped[int] = mapped_column(BigInteger)
    qv: Mapped[int] = mapped_column(BigInteger)
    cv: Mapped[int] = mapped_column(BigInteger)


class ExchangeRate(Base):
    """Units of the company currency for one unit of ``currency`` on ``day``, × 10⁹."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint("day", "currency", name="uq_exchange_rates_day_currency"),
        CheckConstraint("rate > 0", name="rate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunRate(Base):
    """A rate a committed commission run used, frozen with it (replay reads these, never the
    rates table)."""

    __tablename__ = "commission_run_rates"
    __table_args__ = (UniqueConstraint("run_id", "currency", name="uq_run_rates_run_currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
