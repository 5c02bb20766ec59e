"""Markets: adding, listing and finding them; the market a member buys in.

A market's code is two upper-case letters ("US", "MX", "EU": subscriptions keep it); its
currency an ISO 4217 code; its languages locales Babel knows ("en-US", "es-MX"); its time
zone an IANA zone; its shipping countries ISO 3166 alpha-2 codes (pycountry). The default
market (flagged in the table; made from settings ``market`` by the composition roots) is where
a member not placed elsewhere buys, and its currency is the plan currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from babel import Locale, UnknownLocaleError
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from patronage.db.markets import Market
from patronage.db.tables import Member
from patronage.errors import N_, IntegrityViolation, NotFound, PatronageError
from patronage.markets.core.currencies import check_currency


@dataclass
class NewMarket:
    code: str
    name: str
    currency: str
    languages: list[str] = field(default_factory=lambda: ["en-US"])
    timezone: str = "UTC"
    tax_inclusive: bool = False
    shipping_countries: list[str] = field(default_factory=list)
    autoship_last_day: int | None = None
    cooling_off_days: int = 0


def _locale_problem(tag: str) -> str | None:
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return f"{tag!r} is not a locale"
    return None


def check_market(new: NewMarket, place: str = "market") -> list[str]:
    """Every reason the market is refused (empty when it is fine)."""
    reasons: list[str] = []
    code = new.code.strip()
    if not (len(code) == 2 and code.isalpha() and code.isupper() and code.isascii()):
        reasons.append(f"{place}: code {new.code!r} must be two upper-case letters (a country "
                       "code such as MX, or a group such as EU)")
    if not new.name.strip():
        reasons.append(f"{place}: name must not be empty")
    try:
        check_currency(new.currency, place=f"{place}: currency")
    except PatronageError as exc:
        reasons.append(exc.message)
    if not new.languages:
        reasons.append(f"{place}: languages: at least one language")
    for tag in new.languages:
        problem = _locale_problem(tag)
        if problem:
            reasons.append(f"{place}: languages: {problem}")
    try:
        ZoneInfo(new.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        reasons.append(f"{place}: timezone {new.timezone!r} is not an IANA time zone")
    for country in new.shipping_countries:
        if len(country) != 2 or pycountry.countries.get(alpha_2=country.upper()) is None:
            reasons.append(f"{place}: shipping country {country!r} is not an ISO 3166 code")
    if new.autoship_last_day is not None and not 1 <= new.autoship_last_day <= 31:
        reasons.append(f"{place}: autoship last day {new.autoship_last_day} is not 1–31")
    if not 0 <= new.cooling_off_days <= 365:
        reasons.append(f"{place}: cooling-off days {new.cooling_off_days} is not 0–365")
    return reasons


def add_market(session: Session, new: NewMarket) -> Market:
    reasons = check_market(new, f"market {new.code!r}")
    if reasons:
        raise PatronageError("; ".join(reasons))
    if session.scalar(select(Market.id).where(Market.code == new.code)) is not None:
        raise IntegrityViolation(N_("market %(code)r already exists"), values={"code": new.code})
    market = Market(
        code=new.code, name=new.name.strip(), currency=check_currency(new.currency),
        languages=",".join(new.languages), timezone=new.timezone,
        tax_inclusive=new.tax_inclusive,
        shipping_countries=",".join(c.upper() for c in new.shipping_countries),
        autoship_last_day=new.autoship_last_day, cooling_off_days=new.cooling_off_days)
    session.add(market)
    session.flush()
    return market


def list_markets(session: Session) -> list[Market]:
    return list(session.scalars(select(Market).order_by(Market.code)))


def market_by_code(session: Session, code: str) -> Market:
    market = session.scalar(select(Market).where(Market.code == code.upper()))
    if market is None:
        raise NotFound(N_("market %(code)r does not exist"), values={"code": code})
    return market


def default_market(session: Session) -> Market:
    """The company's default market: where members not placed elsewhere buy."""
    market = session.scalar(select(Market).where(Market.is_default.is_(True)))
    if market is None:
        raise NotFound(N_("there is no default market (the database is made with one from "
                          "PATRONAGE_MARKET; `patronage` makes it again on its next start)"),
                       values={})
    return market


def plan_currency(bind: Session | Connection) -> str:
    """The company (plan) currency: the default market's currency."""
    currency = bind.scalar(select(Market.currency).where(Market.is_default.is_(True)))
    if currency is None:
        raise NotFound(N_("there is no default market, so no plan currency (the database is "
                          "made with one from PATRONAGE_MARKET and PATRONAGE_CURRENCY)"),
                       values={})
    return currency


def ensure_default_market(session: Session, code: str, *, currency: str,
                          timezone: str) -> Market:
    """Make the configured market (settings ``market``) the default market, creating it in
    ``currency`` and ``timezone`` (autoship by the 28th) when there is none with that code.
    Refused when the configured currency differs from that market's currency: the plan currency
    is the default market's currency, so the two must agree. For the composition roots."""
    code = code.strip().upper()
    market = session.scalar(select(Market).where(Market.code == code))
    if market is None:
        market = add_market(session, NewMarket(
            code=code, name=code, currency=currency, timezone=timezone,
            shipping_countries=[code] if len(code) == 2 else [], autoship_last_day=28,
            cooling_off_days=3))
    elif market.currency != currency.strip().upper():
        raise PatronageError(N_("PATRONAGE_CURRENCY %(currency)r differs from the currency "
                                "%(currency2)r of the default market %(code)r "
                                "(PATRONAGE_MARKET): the plan currency is the default market's "
                                "currency; set PATRONAGE_CURRENCY to it"),
                             values={"currency": currency,
                                     "currency2": market.currency,
                                     "code": code})
    if not market.is_default:
        for other in session.scalars(select(Market).where(Market.is_default.is_(True))):
            other.is_default = False
        session.flush()
        market.is_default = True
        session.flush()
    return market


def ensure_configured_market(engine: Engine, code: str, *, currency: str,
                             timezone: str) -> None:
    """:func:`ensure_default_market` in a transaction of its own (the roots call it once the
    schema is up to date)."""
    with Session(engine) as session, session.begin():
        ensure_default_market(session, code, currency=currency, timezone=timezone)


def market_of(session: Session, member: Member) -> Market:
    """The market the member buys in: theirs, else the default market."""
    if member.market_id is not None:
        market = session.get(Market, member.market_id)
        if market is not None:
            return market
    return default_market(session)


def place_in_market(session: Session, member_id: int, code: str) -> Market:
    """Put a member in a market (the market they buy in from now on)."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(N_("member %(member_id)s does not exist"), values={"member_id": member_id})
    market = market_by_code(session, code)
    member.market_id = market.id
    session.flush()
    return market


def autoship_last_days(session: Session) -> dict[str, int]:
    """The autoship last-allowed day of each market that has one, by market code."""
    rows = session.execute(select(Market.code, Market.autoship_last_day)
                           .where(Market.autoship_last_day.is_not(None))).all()
    return {code: int(day) for code, day in rows if day is not None}


def languages(market: Market) -> list[str]:
    return [t for t in market.languages.split(",") if t]


def shipping_countries(market: Market) -> list[str]:
    return [c for c in market.shipping_countries.split(",") if c]
