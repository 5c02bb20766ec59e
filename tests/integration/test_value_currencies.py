"""Customer value in one currency: each customer's values in their market's currency, the
stored plan-currency columns (company-wide sums and rankings) converted at the rates of the
run's day; a ¥15,000 order is worth $100.50, never 15,000.00."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from patronage.db.engine import transaction
from patronage.db.value import CustomerValue
from patronage.errors import PatronageError
from patronage.markets.markets import NewMarket, add_market, place_in_market
from patronage.markets.prices import MarketPrice, set_price
from patronage.markets.rates import import_rates
from patronage.orders.catalog import NewProduct, add_product, product_by_sku
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.value.service import distributor_customers, fit_values
from tests.factories import customer, distributor

pytestmark = pytest.mark.storage

JUNE = datetime(2026, 6, 15, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
RATES = "day,currency,rate\n2026-11-01,CAD,0.75\n2026-11-01,JPY,0.0067\n"


def _company(engine: Engine, *, rates: bool = True) -> dict[str, int]:
    """One distributor (US) with a customer in each market, each ordering two shakes (retail:
    $100.00, CAD 130.00, ¥15,000 each)."""
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 8000, 10000, 10000))
        shake = product_by_sku(s, "SHAKE")
        ca = add_market(s, NewMarket("CA", "Canada", "CAD", ["en-CA"], "America/Toronto"))
        jp = add_market(s, NewMarket("JP", "Japan", "JPY", ["ja-JP"], "Asia/Tokyo"))
        set_price(s, shake, ca, MarketPrice(13000, 10400, 10000, 10000))
        set_price(s, shake, jp, MarketPrice(15000, 12000, 10000, 10000))
        d = distributor(s, "Uma", joined_at=JUNE)
        ids = {"d": d}
        for code in ("US", "CA", "JP"):
            c = ids[code] = customer(s, d, f"C{code}", joined_at=JUNE)
            if code != "US":
                place_in_market(s, c, code)
        if rates:
            import_rates(s, RATES, name="rates.csv", base="USD", now=NOW)
    for code in ("US", "CA", "JP"):
        for month in (7, 9):
            with transaction(engine) as s:
                at = JUNE.replace(month=month)
                place_order(s, NewOrder(ids[code], at, [LineRequest("SHAKE")]), now=at)
    return ids


def test_each_customer_is_valued_in_their_currency_and_the_plan_columns_in_usd(
        engine: Engine) -> None:
    ids = _company(engine)
    run = fit_values(engine, NOW).run_id
    with transaction(engine) as s:
        rows = {v.member_id: v for v in s.scalars(
            select(CustomerValue).where(CustomerValue.run_id == run))}
    us, ca, jp = rows[ids["US"]], rows[ids["CA"]], rows[ids["JP"]]
    assert (us.currency, ca.currency, jp.currency) == ("USD", "CAD", "JPY")
    # Past value: two orders, in the customer's currency exactly; in dollars at the rate.
    assert us.past_value == 20000
    assert ca.past_value == 19500  # CAD 260.00 × 0.75
    assert jp.past_value == 20100  # ¥30,000 × 0.0067 = $201.00, not 30,000.00
    for row, rate, places in ((us, 1, 0), (ca, 0.75, 0), (jp, 0.0067, 2)):
        assert row.local_lifetime is not None and row.local_at_risk is not None
        future_local = row.local_lifetime - {us: 20000, ca: 26000, jp: 30000}[row]
        # The future value converted from dollars, half to even (yen: no minor unit).
        expected = row.future_value / rate / 10**places
        assert abs(future_local - expected) <= 0.5 + 1e-9
        assert abs(row.local_at_risk - row.value_at_risk / rate / 10**places) <= 0.5 + 1e-9
    # The plan currency's values rank the distributor's customers across currencies.
    ranked = distributor_customers(engine, ids["d"])
    totals = [r["lifetime_value"] + r["referral_value"] for r in ranked]
    assert totals == sorted(totals, reverse=True)


def test_a_value_run_without_a_rate_it_needs_is_refused(engine: Engine) -> None:
    _company(engine, rates=False)
    with pytest.raises(PatronageError, match=r"customer values as of 2026-11-15: no exchange "
                                             r"rate into USD on or before 2026-11-15 for "
                                             r"CAD, JPY"):
        fit_values(engine, NOW)
