"""Every API route × every kind of caller: nobody signed in (401), a caller without the scope
(403), a distributor or customer reaching for another distributor's customer (403 or 404, never
the data). The routes come from the app itself, so a new route is covered or this test fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from patronage.access import SCOPES, Principal
from patronage.api.problems import MEDIA_TYPE
from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.engine import transaction
from patronage.db.tables import Order
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.value.service import fit_values
from tests.factories import customer
from tests.integration.test_api_support import API, NOW, Company, acting_as, app_for, company

#: A valid body for every route that takes one, so that refusals come from access, not shape.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/members"): {"kind": "retail", "first_name": "X", "owner_id": "{other}"},
    ("post", "/members/{member_id}/move"): {"to": "{other}", "reason": "r"},
    ("post", "/members/{member_id}/upgrade"): {"reason": "r"},
    ("post", "/members/{member_id}/consents"): {"channel": "email", "granted": False},
    ("post", "/members/{member_id}/erase"): {},
    ("post", "/products"): {"sku": "N", "name": "n", "retail_price": 1, "wholesale_price": 1,
                            "qv": 0, "cv": 0},
    ("post", "/orders"): {"buyer_id": "{target}", "lines": [{"sku": "TEA"}]},
    ("post", "/orders/{order_id}/refunds"): {"reason": "r"},
    ("post", "/subscriptions"): {"member_id": "{target}", "items": [{"sku": "TEA"}]},
    ("post", "/subscriptions/{subscription_id}/skip"): {},
    ("post", "/subscriptions/{subscription_id}/pause"): {"until": "2026-12-01"},
    ("post", "/subscriptions/{subscription_id}/change-date"): {"day_of_month": 5},
    ("post", "/subscriptions/{subscription_id}/items"): {"items": [{"sku": "TEA"}]},
    ("post", "/subscriptions/{subscription_id}/cancel"): {"reason": "r"},
    ("post", "/subscriptions/{subscription_id}/undo-skip"): {},
    ("post", "/subscriptions/{subscription_id}/resume"): {},
    ("post", "/subscriptions/{subscription_id}/restart"): {},
    ("post", "/subscriptions/{subscription_id}/items/swap"): {"sku": "SHAKE", "new_sku": "TEA"},
    ("post", "/subscriptions/{subscription_id}/items/add"): {"sku": "TEA"},
    ("delete", "/subscriptions/{subscription_id}/items/{sku}"): {},
    ("post", "/commissions/{period}/commit"): {},
    ("post", "/care/members/{member_id}/notes"): {"body": "hello"},
    ("post", "/care/tasks/{touch_id}/done"): {},
    ("post", "/care/testimonials"): {"member_id": "{target}", "text": "t",
                                     "consent_to_publish": True},
    ("post", "/care/testimonials/{testimonial_id}/moderate"): {"approve": True},
    ("post", "/care/testimonials/{testimonial_id}/publish"): {},
    ("post", "/care/testimonials/{testimonial_id}/withdraw"): {},
}

#: Company-wide routes (no member in the path): a member's own sign-in gets 403 there.
COMPANY_ONLY = {("post", "/members"), ("post", "/products"), ("post", "/orders"),
                ("get", "/commissions/runs"), ("get", "/commissions/{period}/preview"),
                ("post", "/commissions/{period}/commit"), ("get", "/plan"),
                ("get", "/plan/versions"), ("get", "/care/rules"),
                ("get", "/care/holdout"),
                ("post", "/care/testimonials/{testimonial_id}/moderate"),
                ("post", "/care/testimonials/{testimonial_id}/publish")}


#: How each list is asked for the target member's rows.
LIST_FILTERS: dict[str, str] = {
    "/members": "owner_id={owner}", "/orders": "buyer_id={target}",
    "/subscriptions": "member_id={target}", "/care/touches": "member_id={target}",
    "/care/surveys": "member_id={target}", "/care/testimonials": "member_id={target}",
    "/care/tasks": "owner_id={owner}",
    "/products": "",
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return sorted((method, path[len(API):]) for path, ops in paths.items()
                  if path.startswith(API) for method in ops)


def _fill(value: Any, c: Company, target: int) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, c, target) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, c, target) for v in value]
    if value == "{target}":
        return target
    if value == "{other}":
        return c.other
    return value


def _call(client: TestClient, c: Company, method: str, path: str,
          target: int) -> Any:
    """Call the route aimed at member ``target`` (and that member's order and autoship)."""
    order = c.other_customer_order if target == c.other_customer else c.mid_customer_order
    sub = c.other_customer_sub if target == c.other_customer else c.mid_customer_sub
    theirs = target == c.other_customer
    url = API + path.format(
        member_id=target, order_id=order, subscription_id=sub, period="2026-10", sku="TEA",
        touch_id=c.other_customer_task if theirs else c.mid_customer_task,
        testimonial_id=c.other_customer_testimonial if theirs else c.mid_customer_testimonial)
    if method == "get":
        if path in LIST_FILTERS:
            owner = c.other if target == c.other_customer else c.mid
            url += "?" + LIST_FILTERS[path].format(target=target, owner=owner)
        return client.get(url)
    return client.request(method.upper(), url, json=_fill(BODIES[(method, path)], c, target))


def test_every_route_with_a_body_has_a_sample_in_the_matrix(engine: Engine) -> None:
    client = app_for(engine)
    assert len(_routes(client)) > 30
    missing = [r for r in _routes(client) if r[0] != "get" and r not in BODIES]
    assert missing == []


def test_nobody_signed_in_gets_401_problem_everywhere(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    for method, path in _routes(client):
        r = _call(client, c, method, path, c.mid_customer)
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["content-type"] == MEDIA_TYPE


def test_a_caller_without_scopes_gets_403_everywhere(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), Principal("token", None, frozenset(), "no scopes"))
    for method, path in _routes(client):
        r = _call(client, c, method, path, c.mid_customer)
        assert r.status_code == 403, (method, path, r.text)


@pytest.mark.parametrize("who", ["distributor", "customer"])
def test_another_distributors_customer_is_out_of_reach_on_every_route(engine: Engine,
                                                                      who: str) -> None:
    c = company(engine)
    me = c.distributor(c.mid) if who == "distributor" else c.customer(c.mid_customer)
    client = acting_as(app_for(engine), me)
    for method, path in _routes(client):
        r = _call(client, c, method, path, c.other_customer)
        if path.startswith(("/products", "/markets")) and method == "get":
            assert r.status_code == 200  # the catalog and markets are for everyone signed in
            continue
        if path in LIST_FILTERS and r.status_code == 200:
            assert r.json()["items"] == [], (method, path, r.text)
            continue
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        assert "Oscar" not in r.text and "I love it" not in r.text, (method, path)
        if "{member_id}" in path and r.status_code == 404:
            assert r.json()["detail"] == f"member {c.other_customer} does not exist"
    # And the reading routes answer for the caller's own customer (or own record).
    mine = c.mid_customer
    assert client.get(f"{API}/members/{mine}").status_code == 200
    assert client.get(f"{API}/orders/{c.mid_customer_order}").status_code == 200
    assert client.get(f"{API}/subscriptions/{c.mid_customer_sub}").status_code == 200
    for path in LIST_FILTERS:
        if path not in ("/products", "/members", "/care/tasks"):
            r = _call(client, c, "get", path, mine)
            # The customer's one touch is their distributor's task: internal, so not listed.
            expected = 0 if (who, path) == ("customer", "/care/touches") else 1
            assert r.status_code == 403 or len(r.json()["items"]) == expected, (path, r.text)


def test_member_sign_ins_are_refused_company_wide_actions(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    staff_like = Principal("distributor", c.mid, frozenset(SCOPES), "over-scoped")
    acting_as(client, staff_like)
    for method, path in sorted(COMPANY_ONLY):
        r = _call(client, c, method, path, c.mid_customer)
        assert r.status_code == 403, (method, path, r.text)
        assert "staff only" in r.json()["detail"]


def test_a_customer_changes_only_their_own_autoship(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    assert client.post(f"{API}/subscriptions/{c.mid_customer_sub}/skip").status_code == 200
    hidden = client.post(f"{API}/subscriptions/{c.other_customer_sub}/skip")
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"subscription {c.other_customer_sub} does not exist"
    missing = client.post(f"{API}/subscriptions/99999/skip")
    assert (missing.status_code, missing.json()["detail"]) == (
        404, "subscription 99999 does not exist")
    acting_as(client, c.distributor(c.mid))
    assert client.post(f"{API}/subscriptions/{c.mid_customer_sub}/skip").status_code == 403


def _downline_business(engine: Engine, c: Company) -> int:
    """Orders that pay ``mid`` from their customers in October (a retail profit from an order of
    Mia's, a customer acquisition for the new customer Nell) and an upline payment to ``top``;
    returns Nell's id."""
    with transaction(engine) as s:
        nell = customer(s, c.mid, "Nell", joined_at=NOW)
        for buyer, n in ((c.mid, 2), (c.top, 3), (nell, 2), (c.mid_customer, 1)):
            place_order(s, NewOrder(buyer, NOW, [LineRequest("SHAKE", n)]), now=NOW)
    return nell


def test_an_upline_never_reaches_a_downline_distributors_customers(engine: Engine) -> None:
    """The upline ``top`` sees the downline distributor ``mid`` (their member record), never
    ``mid``'s customers: not through a member route, not through ``mid``'s customer values or
    overview, not named in ``mid``'s commission explanation."""
    c = company(engine)
    nell = _downline_business(engine, c)
    fit_values(engine, NOW)
    with transaction(engine) as s:
        their_orders = set(s.scalars(select(Order.id).where(
            Order.buyer_id.in_((c.mid_customer, nell)))))
    hidden = ("Mia", "Nell", f"#{c.mid_customer}", f"#{nell}",
              *(f"order {o}" for o in their_orders))
    client = acting_as(app_for(engine), c.distributor(c.top))
    for method, path in _routes(client):
        r = _call(client, c, method, path, c.mid_customer)
        if path.startswith(("/products", "/markets")) and method == "get":
            continue
        if path in LIST_FILTERS and r.status_code == 200:
            assert r.json()["items"] == [], (method, path, r.text)
            continue
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        assert "Mia" not in r.text and "I love it" not in r.text, (method, path)
    # Unfiltered lists hold none of mid's customers' rows either.
    for path in set(LIST_FILTERS) - {"/products"}:
        r = client.get(f"{API}{path}")
        assert r.status_code in (200, 403), (path, r.text)
        if r.status_code == 200:
            body = r.json()
            rows = body["items"] if isinstance(body, dict) else body
            about = {row.get(k) for row in rows for k in ("id", "member_id", "buyer_id")}
            assert not about & {c.mid_customer, nell}, (path, rows)
            assert "Mia" not in r.text and "Nell" not in r.text, path
    # The downline distributor's own record is visible, their customers' values are not.
    assert client.get(f"{API}/members/{c.mid}").status_code == 200
    for route in ("customers", "overview"):
        r = client.get(f"{API}/values/distributors/{c.mid}/{route}")
        assert (r.status_code, r.json()["detail"]) == (
            404, f"distributor {c.mid} has no customers you may see"), route
    # The explanation keeps every amount; the customers are not named.
    r = client.get(f"{API}/commissions/2026-10/members/{c.mid}/explain")
    assert r.status_code == 200
    lines = lines_for_top = r.json()
    assert not [line for line in lines for word in hidden if word in line], lines
    assert "retail profit from an order of a customer of your team: = 30.00" in lines
    assert "customer acquisition from a customer of your team: = 10.00" in lines
    # Staff, and mid themself, see the same lines with the names.
    for viewer in (c.staff(), c.distributor(c.mid)):
        lines = acting_as(client, viewer).get(
            f"{API}/commissions/2026-10/members/{c.mid}/explain").json()
        assert f"customer acquisition from Nell (#{nell}): = 10.00" in lines, lines
        assert [f"order {o}" for o in their_orders
                if f"retail profit from order {o}: = 30.00" in lines], lines
        assert client.get(f"{API}/values/distributors/{c.mid}/customers").status_code == 200
        assert client.get(f"{API}/values/distributors/{c.mid}/overview").status_code == 200
    # A committed period is explained from its stored lines, with the same naming.
    commit_period(engine, Period(2026, 10), None, now=datetime(2026, 11, 2, tzinfo=UTC),
                  actor="test")
    committed = acting_as(client, c.distributor(c.top)).get(
        f"{API}/commissions/2026-10/members/{c.mid}/explain").json()
    assert committed == lines_for_top, committed
