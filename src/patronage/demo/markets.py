"""The demo company's markets: the US (USD, the default), Canada (CAD), the UK (GBP) and Mexico
(MXN, Spanish), each product priced in each, and monthly exchange rates over the demo's span."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import Connection, insert, select

from patronage.db.bulk import write_rows
from patronage.db.markets import Market
from patronage.demo.core import synth
from patronage.markets.core.conversion import parse_rate


@dataclass(frozen=True)
class DemoMarket:
    code: str
    name: str
    currency: str
    languages: str
    timezone: str
    tax_inclusive: bool
    autoship_last_day: int | None
    cooling_off_days: int
    #: Local price of one US dollar of list price (rounded to a price ending in 99 minor units).
    price_factor: float
    #: US dollars one unit of the currency buys (the demo's rate, moved a little each month).
    usd_rate: float


MARKETS = (
    DemoMarket("US", "United States", "USD", "en-US", "America/Chicago", False, 28, 3, 1.0, 1.0),
    DemoMarket("CA", "Canada", "CAD", "en-CA,fr-CA", "America/Toronto", False, 28, 10, 1.35,
               0.73),
    DemoMarket("GB", "United Kingdom", "GBP", "en-GB", "Europe/London", True, 28, 14, 0.8,
               1.27),
    DemoMarket("MX", "Mexico", "MXN", "es-MX", "America/Mexico_City", True, None, 5, 18.0,
               0.055),
)
#: Each member's locale by country.
LOCALES = {"US": "en-US", "CA": "en-CA", "GB": "en-GB", "MX": "es-MX"}


def write_markets(conn: Connection) -> dict[str, int]:
    """The demo's markets (the default one may exist already), by code → id."""
    have = dict(conn.execute(select(Market.code, Market.id)).all())
    for m in MARKETS:
        if m.code not in have:
            conn.execute(insert(Market).values(
                code=m.code, name=m.name, currency=m.currency, languages=m.languages,
                timezone=m.timezone, tax_inclusive=m.tax_inclusive, shipping_countries=m.code,
                autoship_last_day=m.autoship_last_day, cooling_off_days=m.cooling_off_days))
    return dict(conn.execute(select(Market.code, Market.id)).all())


def local_prices(usd: np.ndarray, factor: float) -> np.ndarray:
    """US list prices (cents) as local prices ending in .99 (none for a price of 0)."""
    if factor == 1.0:
        return usd.astype(np.int64)
    local = np.round(usd * factor / 100).astype(np.int64) * 100 - 1
    return np.where(usd > 0, np.maximum(local, 99), 0)


def price_table() -> tuple[np.ndarray, np.ndarray]:
    """(retail, wholesale) by (catalog index, market index in :data:`MARKETS`)."""
    retail = np.array([c.retail_price for c in synth.CATALOG], dtype=np.int64)
    wholesale = np.array([c.wholesale_price for c in synth.CATALOG], dtype=np.int64)
    return (np.stack([local_prices(retail, m.price_factor) for m in MARKETS], axis=1),
            np.stack([local_prices(wholesale, m.price_factor) for m in MARKETS], axis=1))


def write_prices(conn: Connection, ids: dict[str, int]) -> None:
    """Every catalog product priced in every demo market (same QV and CV everywhere)."""
    retail, wholesale = price_table()
    n = len(synth.CATALOG)
    write_rows(conn, "product_prices", {
        "product_id": np.tile(np.arange(1, n + 1), len(MARKETS)),
        "market_id": np.repeat([ids[m.code] for m in MARKETS], n),
        "retail_price": retail.T.reshape(-1), "wholesale_price": wholesale.T.reshape(-1),
        "qv": np.tile([c.qv for c in synth.CATALOG], len(MARKETS)),
        "cv": np.tile([c.cv for c in synth.CATALOG], len(MARKETS))})


def write_rates(conn: Connection, start: int, end: int) -> None:
    """A rate on the first of every month from before ``start`` to after ``end`` (unix
    seconds) for each demo currency but the dollar."""
    first = datetime.fromtimestamp(start, UTC).date()
    last = datetime.fromtimestamp(end, UTC).date()
    month = first.year * 12 + first.month - 2  # the month before the first
    days: list[date] = []
    while month <= last.year * 12 + last.month:  # through the month after the last
        days.append(date(month // 12, month % 12 + 1, 1))
        month += 1
    rows: dict[str, list[object]] = {"day": [], "currency": [], "rate": [], "source": [],
                                     "recorded_at": []}
    for i, day in enumerate(days):
        for m in MARKETS[1:]:
            wobble = 1 + 0.01 * ((i * 7 + len(m.code) * 3) % 5 - 2)
            rows["day"].append(np.datetime64(day, "D"))
            rows["currency"].append(m.currency)
            rows["rate"].append(parse_rate(f"{m.usd_rate * wobble:.6f}"))
            rows["source"].append("demo")
            rows["recorded_at"].append(np.datetime64(day, "D").astype("datetime64[s]"))
    write_rows(conn, "exchange_rates", {
        "day": np.array(rows["day"], dtype="datetime64[D]"), "currency": rows["currency"],
        "rate": rows["rate"], "source": rows["source"],
        "recorded_at": np.array(rows["recorded_at"], dtype="datetime64[s]")})
