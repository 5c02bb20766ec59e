"""Translation and locale formatting in Jinja2 templates.

:func:`install` gives an environment the ``{% trans %}`` tag and ``_()``/``ngettext`` (new-style:
``_("Hello %(name)s", name=n)``, whitespace inside ``{% trans %}`` collapsed), all speaking the
current reader's language (:func:`patronage.languages.use_locale`), and the filters
``translate`` (for a string marked with ``N_()`` elsewhere), ``money``,
``points``, ``number``, ``percent``, ``date`` and ``datetime`` that format for the same reader.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from patronage.languages.catalogs import current_locale, gettext, ngettext
from patronage.languages.formatting import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_percent,
    format_points,
)
from patronage.markets.core.contacts import display_phone, phone_uri

#: The currency of an amount shown without one (a template's ``currency`` variable wins).
DEFAULT_CURRENCY = "USD"


def translate_filter(message: str | None) -> str:
    """``{{ text|translate }}``: a string marked elsewhere (``N_()``), in the reader's language.

    Unlike ``_()`` it is neither a format pattern nor trusted markup: the result is escaped
    like any other value, so a message carrying user input is shown safely."""
    return gettext(message) if message else ""


@pass_context
def money_filter(context: Context, amount: int, currency: str | None = None, *,
                 symbol: bool | None = None) -> str:
    """``{{ amount|money }}``: minor units in the template's currency, in the reader's locale, as
    a plain number; ``{{ amount|money(code) }}``: in that currency, with its symbol (``symbol``
    overrides the choice)."""
    code = currency or context.get("currency") or DEFAULT_CURRENCY
    with_symbol = bool(currency) if symbol is None else symbol
    return format_money(int(amount), str(code), current_locale(), symbol=with_symbol)


def points_filter(volume: int) -> str:
    return format_points(int(volume), current_locale())


def number_filter(value: Any, decimals: int | None = None) -> str:
    return format_number(value, current_locale(), decimals=decimals)


def percent_filter(value: Fraction | float | None, decimals: int = 1) -> str:
    """``{{ share|percent }}``: a fraction as a percentage in the reader's locale."""
    return format_percent(value, current_locale(), decimals=decimals)


def date_filter(value: date | datetime | None, format: str = "long") -> str:
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, format, current_locale())


def datetime_filter(value: datetime | None, format: str = "medium") -> str:
    return "" if value is None else format_datetime(value, format, current_locale())


def phone_filter(stored: str | None, viewer_country: str | None = None) -> str:
    """``{{ m.phone|phone(viewer_country) }}``: national format for a viewer of the number's
    country, international for anyone else."""
    return "" if not stored else display_phone(stored, viewer_country)


def phone_uri_filter(stored: str | None, scheme: str = "tel") -> str:
    """``{{ m.phone|phone_uri }}`` / ``phone_uri("sms")``: the link in E.164 (empty for a
    stored value that is not E.164)."""
    return (phone_uri(stored, scheme) or "") if stored else ""


def install(env: Environment) -> Environment:
    """Add translation and the locale filters to ``env`` (returned for chaining)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True)
    env.filters.update({"translate": translate_filter, "money": money_filter,
                        "points": points_filter, "number": number_filter,
                        "percent": percent_filter, "date": date_filter,
                        "datetime": datetime_filter, "phone": phone_filter,
                        "phone_uri": phone_uri_filter})
    return env
