"""Markets: the countries the company sells in, their currencies, languages and rules."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from patronage.api.deps import SessionDep, scope
from patronage.markets.core.currencies import exponent
from patronage.markets.markets import default_market, languages, list_markets, shipping_countries

router = APIRouter(prefix="/markets", tags=["markets"])


class MarketOut(BaseModel):
    code: str
    name: str
    currency: str
    #: Decimal places of the currency: amounts are integers in units of 10^-minor_units.
    minor_units: int
    languages: list[str]
    timezone: str
    tax_inclusive: bool
    shipping_countries: list[str]
    autoship_last_day: int | None
    cooling_off_days: int
    default: bool


@router.get("", dependencies=[scope("products:read")])
def list_all(session: SessionDep) -> list[MarketOut]:
    """Every market, by code."""
    code = default_market(session).code
    return [MarketOut(
        code=m.code, name=m.name, currency=m.currency, minor_units=exponent(m.currency),
        languages=languages(m), timezone=m.timezone, tax_inclusive=m.tax_inclusive,
        shipping_countries=shipping_countries(m), autoship_last_day=m.autoship_last_day,
        cooling_off_days=m.cooling_off_days, default=m.code == code) for m in list_markets(session)]
