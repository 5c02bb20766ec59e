"""Currencies: ISO 4217 codes checked against pycountry, minor units from Babel.

An amount is an integer count of its currency's minor units: cents for USD (2 decimal places),
yen for JPY (none). :func:`exponent` says how many decimal places a currency has;
:func:`numeric` gives its ISO 4217 number, the form result rows store it in.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry
from babel.numbers import get_currency_precision

from patronage.errors import PatronageError


@lru_cache(maxsize=512)
def _known(code: str) -> tuple[int, int] | None:
    found = pycountry.currencies.get(alpha_3=code)
    if found is None:
        return None
    return int(found.numeric), int(get_currency_precision(code))


def check_currency(code: str, *, place: str = "currency") -> str:
    """The code in upper case, refused unless it is an ISO 4217 currency."""
    upper = code.strip().upper()
    if len(upper) != 3 or not upper.isalpha() or _known(upper) is None:
        raise PatronageError(f"{place}: {code!r} is not an ISO 4217 currency code")
    return upper


def exponent(code: str) -> int:
    """The currency's decimal places (minor units): USD 2, JPY 0, BHD 3."""
    known = _known(check_currency(code))
    assert known is not None
    return known[1]


def numeric(code: str) -> int:
    """The ISO 4217 number of the currency (USD 840, JPY 392)."""
    known = _known(check_currency(code))
    assert known is not None
    return known[0]


@lru_cache(maxsize=512)
def by_numeric(number: int) -> str:
    """The letter code of an ISO 4217 number."""
    found = pycountry.currencies.get(numeric=f"{number:03d}")
    if found is None:
        raise PatronageError(f"currency: {number} is not an ISO 4217 currency number")
    return str(found.alpha_3)
