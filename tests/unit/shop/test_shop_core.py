"""The shop's pure rules: flat taxes (half-even, inclusive markets), the cart, attribution."""

from __future__ import annotations

import pytest

from patronage.errors import PatronageError
from patronage.shop.core.attribution import LinkHolder, credit_for, keep_link
from patronage.shop.core.cart import MAX_LINES, clean_cart, set_quantity
from patronage.shop.core.tax import FlatRateTax, TaxQuestion, parse_rates

HOUSE = 99


def question(amounts: list[int], *, market: str = "US", region: str = "",
             inclusive: bool = False) -> TaxQuestion:
    return TaxQuestion(market=market, country=market, region=region, postal_code="1",
                       currency="USD", amounts=amounts, tax_inclusive=inclusive)


def test_a_regional_rate_beats_the_markets_rate() -> None:
    tax = FlatRateTax(parse_rates("US=500, us-ca=725"))
    assert tax.tax(question([10000], region="CA")).amount == 725
    assert tax.tax(question([10000], region="NY")).amount == 500
    assert tax.tax(question([10000], market="MX")).amount == 0  # no rate: no tax


def test_tax_is_rounded_half_even_once_per_order() -> None:
    tax = FlatRateTax({"US": 500})
    assert tax.tax(question([50])).amount == 2  # 2.5 → 2
    assert tax.tax(question([70])).amount == 4  # 3.5 → 4
    assert tax.tax(question([10, 40])).amount == 2  # on the total, not per line


def test_an_inclusive_market_states_the_tax_it_contains() -> None:
    line = FlatRateTax({"MX": 1600}).tax(question([11600], market="MX", inclusive=True))
    assert (line.amount, line.added, line.label) == (1600, False, "16%")


@pytest.mark.parametrize("text", ["US", "US=abc", "=5", "US=10001", "US=-1"])
def test_malformed_rates_are_refused_with_the_setting(text: str) -> None:
    with pytest.raises(PatronageError, match="shop_tax_rates"):
        parse_rates(text)


def test_the_cart_keeps_only_known_products_at_sane_quantities() -> None:
    known = {"TEA": 10, "SHAKE": 5}
    raw = {"TEA": 2, "SHAKE": 6, "NOPE": 1, "X": "1", 3: 3}
    assert clean_cart(raw, known) == {"TEA": 2}
    assert clean_cart({"TEA": True}, known) == {}
    assert clean_cart("junk", known) == {}
    many = {f"P{i}": 1 for i in range(MAX_LINES + 5)}
    assert len(clean_cart(many, dict.fromkeys(many, 9))) == MAX_LINES
    assert set_quantity({"TEA": 1}, "TEA", 0) == {}
    assert set_quantity({}, "TEA", 3) == {"TEA": 3}


def test_a_distributors_link_makes_them_the_owner() -> None:
    credit = credit_for(LinkHolder(5, "distributor", "active"), HOUSE)
    assert (credit.owner_id, credit.referrer_id, credit.house_fallback) == (5, None, False)


def test_a_customers_link_credits_her_owner_and_her() -> None:
    credit = credit_for(LinkHolder(7, "retail", "active", owner_id=5, owner_status="active"),
                        HOUSE)
    assert (credit.owner_id, credit.referrer_id, credit.house_fallback) == (5, 7, False)


@pytest.mark.parametrize("holder", [
    None,
    LinkHolder(5, "distributor", "terminated"),
    LinkHolder(5, "distributor", "erased"),
    LinkHolder(7, "retail", "active", owner_id=5, owner_status="terminated"),
])
def test_no_usable_link_falls_back_to_the_house(holder: LinkHolder | None) -> None:
    credit = credit_for(holder, HOUSE)
    assert credit.owner_id == HOUSE and credit.house_fallback and credit.notice


def test_first_or_last_link_wins() -> None:
    assert keep_link(None, "b", "first") == "b"
    assert keep_link("a", "b", "first") == "a"
    assert keep_link("a", "b", "last") == "b"
    with pytest.raises(ValueError, match="first or last"):
        keep_link("a", "b", "sometimes")
