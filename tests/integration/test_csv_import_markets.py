"""The orders import in a company with two markets, US (the default, USD) and JP (JPY): each
order in its buyer's market and currency, priced from the market's prices; a currency that is not
the market's, a product without a price there and a unit price with more decimal places than the
currency has are refused by line and column, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Order, OrderLine
from patronage.errors import Problems
from patronage.markets.markets import NewMarket, add_market, place_in_market
from patronage.markets.prices import MarketPrice, set_price
from patronage.orders.catalog import NewProduct, add_product, product_by_sku
from patronage.orders.csv_import import import_orders
from tests.factories import customer, distributor

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
HEADER = "order_key,buyer_ref,placed_at,currency,sku,quantity,unit_price\n"
AT = "2026-10-10T09:00:00Z"


def _company(engine: Engine) -> None:
    """SHAKE priced in both markets (other volume in JP), TEA only in the US; a distributor
    and a retail customer in each market, by ref DUS, CUS, DJP, CJP."""
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Daily shake", 6000, 4500, 4000, 3600))
        add_product(s, NewProduct("TEA", "Herbal tea", 2500, 2000, 1500, 1200))
        jp = add_market(s, NewMarket("JP", "Japan", "JPY", ["ja-JP"], "Asia/Tokyo",
                                     shipping_countries=["JP"]))
        set_price(s, product_by_sku(s, "SHAKE"), jp, MarketPrice(7000, 5000, 3000, 2500))
        for code in ("US", "JP"):
            d = distributor(s, f"D{code}", ref=f"D{code}")
            c = customer(s, d, f"C{code}", ref=f"C{code}")
            if code == "JP":
                place_in_market(s, d, code)
                place_in_market(s, c, code)


def _orders(engine: Engine) -> dict[str, tuple[str, int, list[tuple[int, int, int, int, int]]]]:
    """Each order by key: currency, total and lines (unit price, amount, QV, retail and
    wholesale total)."""
    with transaction(engine) as s:
        got = {}
        for order in s.scalars(select(Order).order_by(Order.id)):
            lines = s.execute(select(OrderLine.unit_price, OrderLine.amount, OrderLine.qv,
                                     OrderLine.retail_total, OrderLine.wholesale_total)
                              .where(OrderLine.order_id == order.id).order_by(OrderLine.id))
            key = (order.idempotency_key or "").removeprefix("import:")
            got[key] = (order.currency, order.total, [tuple(r) for r in lines])
        return got  # type: ignore[return-value]


def _count(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as s:
        return (s.scalar(select(func.count()).select_from(Order)) or 0,
                s.scalar(select(func.count()).select_from(OrderLine)) or 0)


def test_orders_of_buyers_in_two_markets_get_their_currency_and_prices(engine: Engine) -> None:
    _company(engine)
    report = import_orders(engine, HEADER + "\n".join([
        f"K1,DUS,{AT},,SHAKE,2,",          # US distributor: wholesale, dollars
        f"K1,DUS,{AT},usd,TEA,1,",         # the market's currency named: fine
        f"K2,CJP,{AT},,SHAKE,1,",          # JP retail customer: retail, yen
        f"K2,CJP,{AT},JPY,SHAKE,3,1500",   # 1500 is 1,500 yen
        f"K3,DJP,{AT},JPY,SHAKE,1,",       # JP distributor: wholesale in yen
        f"K4,CUS,{AT},,TEA,1,19.90",       # 19.90 is $19.90
    ]) + "\n", now=NOW)
    assert (report.rows, report.written) == (6, 4)
    assert _orders(engine) == {
        "K1": ("USD", 11000, [(4500, 9000, 8000, 12000, 9000), (2000, 2000, 1500, 2500, 2000)]),
        "K2": ("JPY", 11500, [(7000, 7000, 3000, 7000, 5000),
                              (1500, 4500, 9000, 21000, 15000)]),
        "K3": ("JPY", 5000, [(5000, 5000, 3000, 7000, 5000)]),
        "K4": ("USD", 1990, [(1990, 1990, 1500, 2500, 2000)]),
    }
    again = import_orders(engine, HEADER + f"K3,DJP,{AT},,SHAKE,1,\n", now=NOW)
    assert (again.written, again.already) == (0, 1)


def test_the_markets_refusals_name_the_line_and_nothing_is_written(engine: Engine) -> None:
    _company(engine)
    with pytest.raises(Problems) as caught:
        import_orders(engine, HEADER + "\n".join([
            f"K1,DUS,{AT},,SHAKE,1,",            # fine
            f"K2,DJP,{AT},USD,SHAKE,1,",         # dollars for a buyer in Japan
            f"K3,CJP,{AT},,TEA,1,",              # TEA has no price in JP
            f"K4,CJP,{AT},,SHAKE,1,1500.5",      # yen have no decimals
            f"K5,CUS,{AT},USD,SHAKE,1,19.999",   # dollars have two
            f"K6,CUS,{AT},ZZZ,SHAKE,1,",         # no such currency
            f"K7,DJP,{AT},,SHAKE,1,100000001",   # above the highest price in yen
            f"K8,CUS,{AT},,SHAKE,1,1000000.01",  # above the highest price in dollars
        ]) + "\n", now=NOW)
    assert [str(p) for p in caught.value.problems] == [
        "line 3, column currency: USD is not the currency of buyer DJP's market JP (JPY)",
        "line 4, column sku: product 'TEA' has no price in buyer CJP's market JP",
        "line 5, column unit_price: 1500.5 has more than 0 decimal places for JPY",
        "line 6, column unit_price: 19.999 has more than 2 decimal places for USD",
        "line 7, column currency: 'ZZZ' is not an ISO 4217 currency code",
        "line 8, column unit_price: 100000001 is above 100000000, the highest price accepted",
        "line 9, column unit_price: 1000000.01 is above 1000000.00, the highest price accepted",
    ]
    assert _count(engine) == (0, 0)


def test_a_blank_currency_is_the_markets_and_agrees_with_a_named_one(engine: Engine) -> None:
    _company(engine)
    with pytest.raises(Problems) as caught:
        import_orders(engine, HEADER + "\n".join([
            f"K1,DJP,{AT},,SHAKE,1,",
            f"K1,DJP,{AT},JPY,SHAKE,2,",
            f"K1,DJP,{AT},USD,SHAKE,3,",
        ]) + "\n", now=NOW)
    assert [str(p) for p in caught.value.problems] == [
        "line 4, column currency: USD is not the currency of buyer DJP's market JP (JPY)",
    ]
    assert _count(engine) == (0, 0)
