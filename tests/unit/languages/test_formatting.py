"""Numbers, money and dates in the reader's locale; minor units per currency."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patronage.languages import use_locale
from patronage.languages.formatting import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_points,
    major_amount,
    minor_digits,
)
from patronage.web.deps import money, points


@pytest.mark.parametrize(("currency", "digits"), [("USD", 2), ("MXN", 2), ("JPY", 0),
                                                  ("BHD", 3), ("cad", 2)])
def test_minor_units_come_from_the_currency(currency: str, digits: int) -> None:
    assert minor_digits(currency) == digits


def test_major_amount_is_exact() -> None:
    assert str(major_amount(1234, "USD")) == "12.34"
    assert str(major_amount(1500, "JPY")) == "1500"
    assert str(major_amount(-1, "BHD")) == "-0.001"


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    (123456, "USD", "en-US", "$1,234.56"),
    (-5, "USD", "en-US", "-$0.05"),
    (123456, "MXN", "es-MX", "$1,234.56"),
    (123456, "EUR", "es-ES", "1.234,56\xa0€"),
    (123456, "EUR", "fr-FR", "1\u202f234,56\xa0€"),
    (150000, "JPY", "en-US", "¥150,000"),  # no minor units: 150000 is ¥150,000
    (1234567, "BHD", "en-US", "BHD1,234.567"),
])
def test_money_with_its_symbol_in_the_locale(amount: int, currency: str, locale: str,
                                             shown: str) -> None:
    assert format_money(amount, currency, locale) == shown


@pytest.mark.parametrize(("locale", "shown"), [("en-US", "1,234.56"), ("es-MX", "1,234.56"),
                                               ("es-ES", "1.234,56"),
                                               ("fr-FR", "1\u202f234,56")])
def test_money_without_symbol_keeps_the_currency_places(locale: str, shown: str) -> None:
    assert format_money(123456, "USD", locale, symbol=False) == shown
    assert format_money(1500, "JPY", locale, symbol=False) in ("1,500", "1.500", "1\u202f500")


def test_the_pages_money_and_points_helpers_use_the_current_locale() -> None:
    assert money(-123456) == "-1,234.56"  # the default reader: en-US, as the pages always were
    assert points(250) == "2.50"
    with use_locale("es-ES"):
        assert money(123456) == "1.234,56"
        assert points(123456) == "1.234,56"
        assert format_points(5) == "0,05"
    assert money(150000, "JPY", "en-US", symbol=True) == "¥150,000"


def test_numbers_and_dates_per_locale() -> None:
    assert format_number(1234.5, "de-DE") == "1.234,5"
    assert format_number(0.456 * 100, "en-US", decimals=0) == "46"
    day = date(2026, 12, 10)
    assert format_date(day, "long", "en-US") == "December 10, 2026"
    assert format_date(day, "long", "es-MX") == "10 de diciembre de 2026"
    assert format_date(day, "long", "fr-FR") == "10 décembre 2026"
    assert format_date(day, "MMM dd", "en-US") == "Dec 10"
    at = datetime(2026, 12, 10, 15, 30, tzinfo=UTC)
    assert format_datetime(at, "short", "en-US").startswith("12/10/26")
    with use_locale("es-MX"):
        assert format_date(day) == "10 de diciembre de 2026"


def test_an_unknown_locale_formats_as_the_default() -> None:
    assert format_money(100, "USD", "xx-YY") == "$1.00"
    assert format_date(date(2026, 1, 2), "long", "not a locale") == "January 2, 2026"


@pytest.mark.parametrize("locale", ["en-US", "es_mx", "es-ES", "fr-FR", "xx-nowhere", None])
@pytest.mark.parametrize("currency", ["USD", "usd", "EUR", "JPY", "MXN"])
def test_remembered_money_is_what_babel_writes(locale: str | None, currency: str) -> None:
    """The remembered answers are Babel's, for every locale (spelled any way), currency case,
    sign and symbol choice, asked twice."""
    from babel.numbers import format_currency, format_decimal

    from patronage.languages.catalogs import babel_locale

    loc = babel_locale(locale or "en-US")
    digits = minor_digits(currency)
    for amount in (0, 1, -1, 99, 123456, -123456, 10**12 + 7):
        value = major_amount(amount, currency)
        with_symbol = str(format_currency(value, currency.upper(), locale=loc))
        plain = str(format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""),
                                   locale=loc))
        for _ in range(2):
            with use_locale(locale):
                assert format_money(amount, currency) == with_symbol
                assert format_money(amount, currency, symbol=False) == plain
            assert format_money(amount, currency, locale) == with_symbol
