"""Numbers, money and dates in a reader's locale: the one place that formats them.

Money is an integer amount of minor units with its currency; how many minor units the currency
has comes from the CLDR data (2 for USD and MXN, 0 for JPY), so ``1500`` yen is ``¥1,500`` and
``1500`` US cents ``$15.00``. Without ``locale`` the current reader's locale is used
(:func:`patronage.languages.use_locale`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
)
from babel.numbers import format_percent as format_percent_babel

from patronage.errors import Text
from patronage.languages.catalogs import babel_locale, current_locale, gettext, normalize


def minor_digits(currency: str) -> int:
    """How many minor units a currency has, as a power of ten (USD 2, JPY 0)."""
    return int(get_currency_precision(currency.upper()))


def major_amount(amount_minor: int, currency: str) -> Decimal:
    """``amount_minor`` in the currency's major unit, exactly (``1234`` USD -> ``12.34``)."""
    return Decimal(int(amount_minor)).scaleb(-minor_digits(currency))


#: How many (amount, currency, locale, symbol) answers :func:`format_money` remembers: a page
#: of commission lines shows hundreds of amounts, many of them the same, and Babel takes
#: tens of microseconds for each.
MONEY_MEMORY = 65_536


def format_money(amount_minor: int, currency: str, locale: str | None = None, *,
                 symbol: bool = True) -> str:
    """An amount in minor units as the locale writes it: ``$1,234.56``, ``1.234,56 €``.

    With ``symbol=False`` only the number, with the currency's decimal places (``1,234.56``).
    """
    return _money(int(amount_minor), currency.upper(), normalize(locale or current_locale()),
                  symbol)


@lru_cache(maxsize=MONEY_MEMORY)
def _money(amount_minor: int, currency: str, locale: str, symbol: bool) -> str:
    loc = babel_locale(locale)
    value = major_amount(amount_minor, currency)
    if symbol:
        return str(format_currency(value, currency, locale=loc))
    digits = minor_digits(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=loc))


def format_number(value: int | float | Decimal | Fraction, locale: str | None = None, *,
                  decimals: int | None = None) -> str:
    """A number with the locale's grouping and decimal sign; ``decimals`` fixes the places."""
    loc = babel_locale(locale or current_locale())
    if isinstance(value, Fraction):
        value = _decimal(value)
    if decimals is None:
        return str(format_decimal(value, locale=loc))
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale=loc))


def format_points(volume: int, locale: str | None = None) -> str:
    """A volume kept in hundredths of a point, as points with two decimals."""
    return format_number(Decimal(int(volume)).scaleb(-2), locale, decimals=2)


def format_date(value: date, format: str = "long", locale: str | None = None) -> str:
    """A date as the locale writes it (``format``: short, medium, long, full or a pattern)."""
    return str(_format_date(value, format=format, locale=babel_locale(locale or current_locale())))


def format_datetime(value: datetime, format: str = "medium", locale: str | None = None) -> str:
    """A date and time as the locale writes it (in the time zone ``value`` carries)."""
    return str(_format_datetime(value, format=format, tzinfo=value.tzinfo,
                                locale=babel_locale(locale or current_locale())))


def format_percent(value: Fraction | float | None, locale: str | None = None, *,
                   decimals: int = 1) -> str:
    """A share as the locale writes a percentage (``40.0%``, ``40,0 %``); ``—`` for none."""
    if value is None:
        return "—"
    loc = babel_locale(locale or current_locale())
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    number = _decimal(value) if isinstance(value, Fraction) else value
    return str(format_percent_babel(number, format=pattern, locale=loc))


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def localized(value: object) -> object:
    """``value`` for the current reader: a :class:`~patronage.errors.Text` (a refusal's message
    made from a marked pattern) translated, with its dates and numbers in the reader's format;
    anything else unchanged."""
    if not isinstance(value, Text):
        return value
    values = {key: _shown(v) for key, v in value.values.items()}
    try:
        return gettext(value.pattern) % values
    except (KeyError, TypeError, ValueError):  # a broken translation: the English text
        return value.pattern % values


def _shown(value: object) -> object:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value, "medium")
    return value
