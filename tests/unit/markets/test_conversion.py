"""Conversion at frozen rates: exact fractions per currency, half-to-even rounding, minor units
from Babel, and the same result vectorised as one amount at a time."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patronage.errors import PatronageError
from patronage.markets.core.conversion import (
    RATE_SCALE,
    Rates,
    convert_one,
    format_rate,
    from_plan,
    parse_rate,
    round_half_even,
    to_plan,
)
from patronage.markets.core.currencies import check_currency, exponent, numeric

RATES = Rates("USD", {"CAD": parse_rate("0.75"), "JPY": parse_rate("0.0067"),
                      "BHD": parse_rate("2.65")})


def test_minor_units_come_from_babel() -> None:
    assert (exponent("USD"), exponent("JPY"), exponent("CAD"), exponent("BHD")) == (2, 0, 2, 3)
    assert numeric("JPY") == 392
    with pytest.raises(PatronageError, match="'US' is not an ISO 4217 currency"):
        check_currency("US")


def test_half_to_even() -> None:
    assert [round_half_even(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert round_half_even(7, 3) == 2 and round_half_even(-7, 3) == -2


def test_conversion_per_currency() -> None:
    codes = RATES.codes
    assert codes == ("USD", "BHD", "CAD", "JPY")
    cur = np.array([codes.index(c) for c in ("CAD", "JPY", "JPY", "BHD", "USD")])
    # CAD 1.00 = USD 0.75; ¥15,000 = USD 100.50; ¥1 = USD 0.0067 → 0.01; BHD 1.000 = 2.65.
    assert to_plan(np.array([100, 15000, 1, 1000, 123]), cur, RATES).tolist() == [
        75, 10050, 1, 265, 123]
    # USD 10.00 → CAD 13.333… → 13.33; → ¥1,492.537… → ¥1,493; USD 0.01 → BHD 0.00377… → 0.004
    assert from_plan(np.array([1000, 1000, 1, 1, 7]), cur, RATES).tolist() == [
        1333, 1493, 1, 4, 7]


def test_halves_go_to_the_even_minor_unit() -> None:
    rates = Rates("USD", {"JPY": parse_rate("0.01")})  # ¥1 = USD 0.01: USD 0.01 = ¥1
    half = Rates("USD", {"CAD": parse_rate("2")})  # CAD 0.01 = USD 0.02; USD 0.01 = CAD 0.005
    cad = np.ones(4, dtype=np.int64)
    assert from_plan(np.array([1, 3, 5, -1]), cad, half).tolist() == [0, 2, 2, 0]
    assert from_plan(np.array([250]), np.ones(1, dtype=np.int64), rates).tolist() == [250]


@given(st.lists(st.integers(-10**11, 10**11), min_size=1, max_size=30),
       st.integers(10**3, 10**12), st.sampled_from(["CAD", "JPY", "BHD", "USD"]))
def test_vectorised_equals_exact_decimal_arithmetic(amounts: list[int], rate: int,
                                                    code: str) -> None:
    rates = Rates("USD", {code: rate} if code != "USD" else {})
    at = rates.index(code)
    cur = np.full(len(amounts), at, dtype=np.int64)
    out = to_plan(np.array(amounts, dtype=np.int64), cur, rates).tolist()
    back = from_plan(np.array(amounts, dtype=np.int64), cur, rates).tolist()
    r = Decimal(rates.rate(code)) / RATE_SCALE
    shift = Decimal(10) ** (2 - exponent(code))
    for a, got, got_back in zip(amounts, out, back, strict=True):
        want = (Decimal(a) * r * shift).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        want_back = (Decimal(a) / r / shift).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        assert got == int(want) == convert_one(a, rates.fraction_to_plan(code))
        assert got_back == int(want_back)


def test_rates_are_exact_decimals_of_up_to_nine_places() -> None:
    assert parse_rate("0.0067") == 6_700_000 and format_rate(6_700_000) == "0.0067"
    assert format_rate(parse_rate("150")) == "150"
    for bad, why in (("0", "not a positive"), ("-1", "not a positive"), ("x", "not a number"),
                     ("0.0000000001", "more than 9 decimal places")):
        with pytest.raises(PatronageError, match=why):
            parse_rate(bad)


def test_an_amount_too_large_once_converted_is_refused() -> None:
    rates = Rates("USD", {"JPY": parse_rate("0.000001")})
    with pytest.raises(PatronageError, match="converts to more than the largest amount"):
        from_plan(np.array([2**60]), np.ones(1, dtype=np.int64), rates)


def test_a_missing_rate_is_named() -> None:
    with pytest.raises(PatronageError, match="currency MXN: no exchange rate into USD"):
        RATES.index("MXN")
