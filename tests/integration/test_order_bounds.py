"""Free lines carry no volume unless the product says so, and prices, quantities and totals stay
within the catalog's bounds: through the service, the REST API, the CSV imports and autoship."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, subscribe
from patronage.db.engine import transaction
from patronage.db.tables import Order, OrderLine, Product
from patronage.errors import PatronageError, Problems
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.csv_import import import_members, import_orders, import_products
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.e2e.world import EMAILS, csrf_of, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.factories import catalog, customer, distributor
from tests.integration.test_api_support import API, acting_as, app_for, company
from tests.integration.test_csv_import import MEMBERS, PRODUCTS
from tests.web_jobs import finished

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)


def _orders(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def _buyer(engine: Engine) -> int:
    with transaction(engine) as s:
        catalog(s)  # SHAKE: 45.00 wholesale, QV 40, CV 36
        add_product(s, NewProduct("GIFT", "Gift box", 1000, 800, 500, 400,
                                  volume_when_free=True))
        add_product(s, NewProduct("BAR", "Protein bar", 300, 200, 100, 100, max_quantity=5))
        return distributor(s)


def test_a_free_line_carries_no_volume_unless_the_product_says_so(engine: Engine) -> None:
    buyer = _buyer(engine)
    with transaction(engine) as s:
        placed = place_order(s, NewOrder(buyer, NOW, [
            LineRequest("SHAKE", 2, 0), LineRequest("GIFT", 1, 0), LineRequest("SHAKE", 1)]),
            now=NOW)
        lines = [(x.amount, x.qv, x.cv) for x in placed.lines]
    assert lines == [(0, 0, 0), (0, 500, 400), (4500, 4000, 3600)]
    with transaction(engine) as s:
        stored = s.scalars(select(OrderLine.qv).order_by(OrderLine.id)).all()
    assert stored == [0, 500, 4000]


def test_prices_quantities_and_totals_stay_within_the_catalogs_bounds(engine: Engine) -> None:
    buyer = _buyer(engine)
    cases = [
        ([LineRequest("SHAKE", 1001)],
         "line 1: quantity 1001 is above 1000, the most of 'SHAKE' one line may have"),
        ([LineRequest("BAR", 6)], "line 1: quantity 6 is above 5, the most of 'BAR' one line "
                                  "may have"),
        ([LineRequest("SHAKE", 100_000_000)], "line 1: quantity 100000000 is above 1000"),
        ([LineRequest("SHAKE", 1, 100_000_001)],
         "line 1: unit price 1000000.01 is above 1000000.00, the highest price accepted"),
        ([LineRequest("SHAKE", 1, 9 * 10**18)], "line 1: unit price"),
        ([LineRequest("SHAKE", 1000, 100_000_000), LineRequest("SHAKE", 1000, 100_000_000)],
         "the order totals 2000000000.00, above 10000000.00, the most an order may total"),
    ]
    for lines, reason in cases:
        with transaction(engine) as s, pytest.raises(PatronageError) as refused:
            place_order(s, NewOrder(buyer, NOW, lines), now=NOW)
        assert reason in str(refused.value), (reason, str(refused.value))
    with transaction(engine) as s, pytest.raises(PatronageError, match=(
            rf"order of buyer {buyer}: the order totals 10000000.01, above 10000000.00")):
        place_order(s, NewOrder(buyer, NOW, [LineRequest("SHAKE", 1000, 1_000_000),
                                             LineRequest("SHAKE", 1, 1)]), now=NOW)
    assert _orders(engine) == 0
    with transaction(engine) as s:
        place_order(s, NewOrder(buyer, NOW, [LineRequest("SHAKE", 1000), LineRequest("BAR", 5)]),
                    now=NOW)
    assert _orders(engine) == 1


def test_the_catalog_refuses_prices_and_limits_out_of_bounds(engine: Engine) -> None:
    with transaction(engine) as s, pytest.raises(PatronageError) as refused:
        add_product(s, NewProduct("GOLD", "Gold", 100_000_001, 100, 9 * 10**18, 1,
                                  max_quantity=0))
    text = str(refused.value)
    assert "retail_price 1000000.01 is above 1000000.00" in text
    assert "qv 90000000000000000.00 is above 1000000.00" in text
    assert "max_quantity 0 is outside 1..1000000" in text
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 0


def test_the_api_answers_422_naming_the_bound(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    before = _orders(engine)
    for line, loc in (({"sku": "TEA", "quantity": 100_000_000}, "quantity"),
                      ({"sku": "TEA", "unit_price": 9 * 10**18}, "unit_price")):
        r = client.post(f"{API}/orders", json={"buyer_id": c.top_customer, "lines": [line]})
        assert r.status_code == 422, r.text
        assert loc in str(r.json()["errors"])
    r = client.post(f"{API}/orders", json={"buyer_id": c.top_customer, "lines": [
        {"sku": "TEA", "quantity": 1000, "unit_price": 100_000_000}]})
    assert r.status_code == 422, r.text
    assert "above 10000000.00, the most an order may total" in r.json()["detail"]
    r = client.post(f"{API}/orders", json={"buyer_id": c.top_customer, "lines": [
        {"sku": "TEA", "quantity": 1001}]})
    assert r.status_code == 422 and "the most of 'TEA' one line may have" in r.json()["detail"]
    free = client.post(f"{API}/orders", json={"buyer_id": c.top_customer, "lines": [
        {"sku": "TEA", "quantity": 2, "unit_price": 0}]})
    assert free.status_code == 201, free.text
    assert [(x["qv"], x["cv"]) for x in free.json()["lines"]] == [(0, 0)]
    assert _orders(engine) == before + 1
    product = client.post(f"{API}/products", json={
        "sku": "SAMPLE", "name": "Sample", "retail_price": 0, "wholesale_price": 0, "qv": 100,
        "cv": 100, "volume_when_free": True, "max_quantity": 3})
    assert product.status_code == 201, product.text
    assert (product.json()["volume_when_free"], product.json()["max_quantity"]) == (True, 3)
    huge = client.post(f"{API}/products", json={
        "sku": "HUGE", "name": "Huge", "retail_price": 9 * 10**18, "wholesale_price": 0,
        "qv": 1, "cv": 1})
    assert huge.status_code == 422 and "retail_price" in str(huge.json()["errors"])


def test_the_csv_imports_name_every_bound_broken(engine: Engine) -> None:
    products = ("sku,name,retail_price,wholesale_price,qv,cv,volume_when_free,max_quantity\n"
                "SAMPLE,Sample,0.00,0.00,10,10,yes,3\n"
                "GOLD,Gold,1000000.01,1.00,1,1,no,\n"
                "LOTS,Lots,1.00,1.00,1,1,no,2000000\n")
    with pytest.raises(Problems) as caught:
        import_products(engine, products)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "line 3, column retail_price: 1000000.01 is above 1000000.00, the highest price "
        "accepted",
        "line 4, column max_quantity: 2000000 is outside 1..1000000",
    ]
    import_products(engine, products.replace("1000000.01", "10.00").replace("2000000", "10"))
    import_products(engine, PRODUCTS)
    import_members(engine, MEMBERS)
    with transaction(engine) as s:
        sample = s.scalar(select(Product).where(Product.sku == "SAMPLE"))
        assert sample is not None and (sample.volume_when_free, sample.max_quantity) == (True, 3)
    orders = ("order_key,buyer_ref,placed_at,sku,quantity,unit_price\n"
              "A1,C1,2026-03-02T09:00:00Z,SHAKE,1001,\n"
              "A2,C1,2026-03-02T09:00:00Z,SHAKE,1,1000000.01\n"
              "A3,C1,2026-03-02T09:00:00Z,SAMPLE,4,\n"
              "A4,D1,2026-03-02T09:00:00Z,SHAKE,2,0\n")
    with pytest.raises(Problems) as caught:
        import_orders(engine, orders, now=NOW)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "line 2, column quantity: quantity 1001 is above 1000, the most of 'SHAKE' one line "
        "may have",
        "line 3, column unit_price: 1000000.01 is above 1000000.00, the highest price accepted",
        "line 4, column quantity: quantity 4 is above 3, the most of 'SAMPLE' one line may have",
    ]
    assert _orders(engine) == 0
    import_orders(engine, "order_key,buyer_ref,placed_at,sku,quantity,unit_price\n"
                          "A4,D1,2026-03-02T09:00:00Z,SHAKE,2,0\n"
                          "A4,D1,2026-03-02T09:00:00Z,SAMPLE,3,\n", now=NOW)
    with transaction(engine) as s:
        assert s.scalars(select(OrderLine.qv).order_by(OrderLine.id)).all() == [0, 3000]


def test_autoship_keeps_to_the_bounds_and_free_items_carry_no_volume(engine: Engine) -> None:
    with transaction(engine) as s:
        catalog(s)
        add_product(s, NewProduct("SAMPLE", "Sample", 0, 0, 500, 500))
        c = customer(s, distributor(s), kind="preferred", country="US")
        with pytest.raises(PatronageError, match=(
                r"item 1: quantity 1001 is above 1000, the most of 'SHAKE' one line may have")):
            subscribe(s, c, [Item("SHAKE", 1001)], Frequency("monthly", day=20),
                      start=date(2026, 10, 20), now=NOW, actor="customer")
        subscribe(s, c, [Item("SHAKE", 1), Item("SAMPLE", 1)], Frequency("monthly", day=20),
                  start=date(2026, 10, 20), now=NOW, actor="customer")
    day = date(2026, 10, 20)
    run_day(engine, day, SimulatedGateway(engine, decline_rate=0.0),
            now=datetime(2026, 10, 20, 8, tzinfo=UTC))
    with transaction(engine) as s:
        lines = s.execute(select(OrderLine.amount, OrderLine.qv).order_by(OrderLine.id)).all()
    assert [tuple(x) for x in lines] == [(4500, 4000), (0, 0)]


def test_the_web_import_names_a_price_out_of_bounds(engine: Engine) -> None:
    seed(engine)
    client = TestClient(web_app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    csrf = csrf_of(client.get("/company").text)
    products = ("sku,name,retail_price,wholesale_price,qv,cv,max_quantity\n"
                "GOLD,Gold,1000000.01,1.00,1,1,0\n")
    r = client.post("/company/imports", data={"csrf_token": csrf, "kind": "products"},
                    files={"file": ("products.csv", products, "text/csv")})
    r = finished(client, r)
    assert "line 2, column retail_price" in r.text and "the highest price accepted" in r.text
    assert "line 2, column max_quantity" in r.text and "outside 1..1000000" in r.text
    with transaction(engine) as s:
        assert s.scalar(select(Product).where(Product.sku == "GOLD")) is None
