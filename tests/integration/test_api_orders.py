"""Products, orders and refunds through the API: idempotent orders (also when posts race),
filters, refunds; on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from patronage.db.engine import transaction
from patronage.db.tables import Order, Refund
from tests.integration.test_api_support import API, acting_as, app_for, bearer, company, token_for


def _order(buyer: int, qty: int = 1) -> dict[str, object]:
    return {"buyer_id": buyer, "lines": [{"sku": "TEA", "quantity": qty}],
            "placed_at": "2026-10-14T09:00:00Z"}


def _count(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_posted_order_is_priced_classified_and_returned_with_its_lines(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    r = client.post(f"{API}/orders", json=_order(c.top_customer, 3),
                    headers={**bearer(token_for(engine, "orders:write")),
                             "Idempotency-Key": "shop-1"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["total"], order["credited_to_id"], order["idempotency_key"]) == (
        7500, c.top, "shop-1")
    assert [(x["quantity"], x["volume_kind"], x["buyer_class"]) for x in order["lines"]] == [
        (3, "consumption", "customer")]


def test_repeated_key_returns_the_original_and_a_different_order_under_it_is_a_conflict(
        engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = {**bearer(token_for(engine, "orders:write")), "Idempotency-Key": "erp-77"}
    first = client.post(f"{API}/orders", json=_order(c.mid_customer), headers=auth)
    again = client.post(f"{API}/orders", json=_order(c.mid_customer), headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    before = _count(engine)
    clash = client.post(f"{API}/orders", json=_order(c.mid_customer, 5), headers=auth)
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert "erp-77" in clash.json()["detail"] and clash.json()["title"] == "Conflict"
    assert _count(engine) == before


def test_the_key_may_come_in_the_body_but_not_differ_from_the_header(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "orders:write"))
    body = {**_order(c.top_customer), "idempotency_key": "body-key"}
    assert client.post(f"{API}/orders", json=body, headers=auth).status_code == 201
    assert client.post(f"{API}/orders", json=body, headers=auth).status_code == 200
    r = client.post(f"{API}/orders", json=body, headers={**auth, "Idempotency-Key": "other"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["idempotency_key"]


def test_posts_racing_with_one_key_store_one_order(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = {**bearer(token_for(engine, "orders:write")), "Idempotency-Key": "race-1"}
    before = _count(engine)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: client.post(f"{API}/orders",
                                                      json=_order(c.top_customer),
                                                      headers=auth), range(12)))
    assert sorted({a.status_code for a in answers}) in ([200, 201], [201])
    assert sum(a.status_code == 201 for a in answers) == 1
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(engine) == before + 1


def test_bad_order_names_the_line_and_writes_nothing(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "orders:write"))
    before = _count(engine)
    r = client.post(f"{API}/orders", headers=auth, json={
        "buyer_id": c.top_customer, "lines": [{"sku": "TEA"}, {"sku": "NOPE"}]})
    assert r.status_code == 422 and r.json()["detail"] == "line 2: unknown sku 'NOPE'"
    naive = client.post(f"{API}/orders", headers=auth, json={
        **_order(c.top_customer), "placed_at": "2026-10-14T09:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["loc"] == [
        "body", "placed_at"]
    assert _count(engine) == before


def test_orders_filter_by_buyer_source_and_date_range(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    client.post(f"{API}/orders", json={**_order(c.top_customer), "source": "retail"})
    everything = client.get(f"{API}/orders").json()["items"]
    assert len(everything) == 3
    retail = client.get(f"{API}/orders", params={"source": "retail"}).json()["items"]
    assert [o["buyer_id"] for o in retail] == [c.top_customer]
    mine = client.get(f"{API}/orders", params={"buyer_id": c.mid_customer}).json()["items"]
    assert [o["id"] for o in mine] == [c.mid_customer_order]
    window = client.get(f"{API}/orders", params={
        "placed_from": "2026-10-14T00:00:00Z", "placed_to": "2026-10-15T00:00:00Z"}).json()
    assert [o["buyer_id"] for o in window["items"]] == [c.top_customer]


def test_distributor_sees_orders_of_own_customers_only(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.mid))
    assert [o["id"] for o in client.get(f"{API}/orders").json()["items"]] == [
        c.mid_customer_order]
    assert client.get(f"{API}/orders/{c.other_customer_order}").status_code == 404


def test_refund_is_idempotent_and_never_more_than_was_paid(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    order = client.get(f"{API}/orders/{c.mid_customer_order}").json()
    line = order["lines"][0]["id"]
    body = {"reason": "damaged", "quantities": {str(line): 1}}
    first = client.post(f"{API}/orders/{c.mid_customer_order}/refunds", json=body,
                        headers={"Idempotency-Key": "rf-1"})
    again = client.post(f"{API}/orders/{c.mid_customer_order}/refunds", json=body,
                        headers={"Idempotency-Key": "rf-1"})
    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["lines"][0]["amount"] == order["lines"][0]["amount"] // 2
    too_much = client.post(f"{API}/orders/{c.mid_customer_order}/refunds",
                           json={"reason": "x", "quantities": {str(line): 5}})
    assert too_much.status_code == 422 and "only 1 of 2 remain" in too_much.json()["detail"]
    listed = client.get(f"{API}/orders/{c.mid_customer_order}/refunds").json()
    assert [r["id"] for r in listed] == [first.json()["id"]]
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 1


def test_catalog_lists_and_adds_products(engine: Engine) -> None:
    company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "products:read", "products:write"))
    packs = client.get(f"{API}/products?enrollment_pack=true", headers=auth).json()["items"]
    assert [p["sku"] for p in packs] == ["PACK"]
    r = client.post(f"{API}/products", headers=auth, json={
        "sku": "BAR", "name": "Protein bar", "retail_price": 300, "wholesale_price": 250,
        "qv": 200, "cv": 150})
    assert r.status_code == 201
    assert client.get(f"{API}/products/BAR", headers=auth).json()["cv"] == 150
    dup = client.post(f"{API}/products", headers=auth, json={
        "sku": "BAR", "name": "Again", "retail_price": 1, "wholesale_price": 1, "qv": 0,
        "cv": 0})
    assert dup.status_code == 422 and "already exists" in dup.json()["detail"]
    assert client.get(f"{API}/products/NOPE", headers=auth).status_code == 404
