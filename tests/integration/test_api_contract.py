"""The API's contract under bad input: out-of-range numbers and periods, oversized or odd
strings, numbers posing as booleans or dates answer 422 (or 404), never 500; the schema
declares what the server enforces. On SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import transaction
from patronage.db.tables import Member
from tests.e2e.world import EMAILS, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.integration.test_api_support import API, acting_as, app_for, company

HUGE = 99999999999999999999  # more than 2^63 - 1 (ids are 32-bit on PostgreSQL)


def _staff_client(engine: Engine) -> TestClient:
    c = company(engine)
    return acting_as(app_for(engine), c.staff())


def _members(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Member)) or 0)


def _invalid(r: object, *places: str) -> None:
    assert r.status_code == 422, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    locs = [".".join(e["loc"]) for e in r.json()["errors"]]  # type: ignore[attr-defined]
    for place in places:
        assert any(place in loc for loc in locs), (place, locs)


def test_ids_offsets_and_integer_fields_beyond_64_bits_are_refused(engine: Engine) -> None:
    client = _staff_client(engine)
    for path in (f"/members/{HUGE}", f"/orders/{HUGE}", f"/subscriptions/{HUGE}",
                 f"/members/{HUGE}/upline", f"/values/members/{HUGE}"):
        _invalid(client.get(API + path), "member_id" if "member" in path else "_id")
    _invalid(client.get(f"{API}/members/0"), "member_id")
    for path in (f"/members/{2**31 - 1}", f"/orders/{2**31 - 1}"):
        assert client.get(API + path).status_code == 404, path
    for path in (f"/members/{2**31}", f"/orders/{2**63 - 1}", f"/subscriptions/{2**40}"):
        _invalid(client.get(API + path), "_id")
    _invalid(client.get(f"{API}/members", params={"offset": HUGE}), "offset")
    _invalid(client.get(f"{API}/orders", params={"buyer_id": HUGE}), "buyer_id")
    _invalid(client.post(f"{API}/orders", json={"buyer_id": HUGE, "lines": [{"sku": "TEA"}]}),
             "buyer_id")
    _invalid(client.post(f"{API}/members", json={"kind": "distributor", "first_name": "Al",
                                                 "sponsor_id": HUGE, "birth_year": HUGE}),
             "sponsor_id", "birth_year")
    _invalid(client.post(f"{API}/subscriptions/1/items/add",
                         json={"sku": "TEA", "quantity": HUGE}), "quantity")
    schema = client.get("/openapi.json").json()
    member_id = next(p for p in schema["paths"]["/api/v1/members/{member_id}"]["get"]
                     ["parameters"] if p["name"] == "member_id")["schema"]
    assert (member_id["minimum"], member_id["maximum"]) == (1, 2**31 - 1)


def test_web_pages_with_huge_ids_answer_not_found_or_invalid(engine: Engine) -> None:
    seed(engine)
    client = TestClient(web_app_for(engine), raise_server_exceptions=False)
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    for path in (f"/customers/{HUGE}", f"/customers/{2**63}"):
        assert client.get(path).status_code in (404, 422), path


def test_periods_outside_the_sane_years_are_refused(engine: Engine) -> None:
    client = _staff_client(engine)
    for period in ("9999-12", "0000-01", "1999-12", "2101-01"):
        _invalid(client.get(f"{API}/commissions/{period}/preview"), "period")
    schema = client.get("/openapi.json").json()
    param = schema["paths"]["/api/v1/commissions/{period}/preview"]["get"]["parameters"][0]
    assert param["schema"]["pattern"]


def test_web_periods_outside_the_sane_years_are_not_a_server_error(engine: Engine) -> None:
    seed(engine)
    client = TestClient(web_app_for(engine), raise_server_exceptions=False)
    assert sign_in(client, EMAILS["distributor"]).status_code == 303
    for path in ("/team?period=9999-12", "/team.csv?period=0000-01",
                 "/business/projection?period=9999-12"):
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code)
        assert "YYYY-MM" in r.text or "2000" in r.text, (path, r.text[:300])


def test_a_duplicate_sku_in_autoship_items_names_the_sku(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    items = [{"sku": "SHAKE", "quantity": 1}, {"sku": "SHAKE", "quantity": 2}]
    r = client.post(f"{API}/subscriptions", json={"member_id": c.top_customer, "items": items})
    _invalid(r)
    assert "SHAKE" in r.json()["detail"] + str(r.json()["errors"])
    r = client.post(f"{API}/subscriptions/{c.mid_customer_sub}/items", json={"items": items})
    _invalid(r)
    assert "SHAKE" in r.json()["detail"] + str(r.json()["errors"])


def test_oversized_strings_and_nul_bytes_are_refused_and_nothing_is_written(
        engine: Engine) -> None:
    client = _staff_client(engine)
    base = {"kind": "distributor", "first_name": "Al"}
    before = _members(engine)
    for field, value in (("city", "x" * 101), ("postal_code", "1" * 21),
                         ("address_line1", "a" * 201), ("first_name", "A\x00l"),
                         ("region", "r\x00"), ("timezone", "U" * 65)):
        _invalid(client.post(f"{API}/members", json={**base, field: value}), field)
    _invalid(client.post(f"{API}/members/1/upgrade", json={"reason": "why\x00"}), "reason")
    _invalid(client.get(f"{API}/members", params={"q": "a\x00"}), "q")
    assert _members(engine) == before
    schema = client.get("/openapi.json").json()["components"]["schemas"]["MemberIn"]
    assert schema["properties"]["city"]["anyOf"][0]["maxLength"] == 100


def test_numbers_are_not_booleans_nor_dates(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    _invalid(client.get(f"{API}/orders", params={"placed_to": "0.5"}), "placed_to")
    _invalid(client.get(f"{API}/care/touches", params={"due_to": "0.5"}), "due_to")
    _invalid(client.post(f"{API}/members/{c.top_customer}/consents",
                         json={"channel": "email", "granted": 0}), "granted")
    product = {"sku": "NEW", "name": "New", "retail_price": 1, "wholesale_price": 1, "qv": 0,
               "cv": 0, "is_enrollment_pack": 0}
    _invalid(client.post(f"{API}/products", json=product), "is_enrollment_pack")
    ok = client.get(f"{API}/orders", params={"placed_to": "2026-10-20T00:00:00Z"})
    assert ok.status_code == 200, ok.text


def test_the_schema_documents_problems_and_the_security_schemes(engine: Engine) -> None:
    client = _staff_client(engine)
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/api/v1/members/{member_id}"]["get"]
    for code in ("401", "403", "404", "422"):
        assert "application/problem+json" in op["responses"][code]["content"], code
    assert "application/problem+json" in schema["paths"]["/api/v1/orders"]["post"][
        "responses"]["409"]["content"]
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert op.get("security")


def test_the_cli_refuses_periods_outside_the_sane_years(engine: Engine, db_url: str) -> None:
    company(engine)
    runner = CliRunner()
    for period in ("9999-12", "0000-01"):
        r = runner.invoke(cli, ["--db", db_url, "commissions", "commit", "--period", period,
                                "--now", "2026-11-06T12:00:00+00:00"])
        assert r.exit_code != 0
        assert "out of range; periods run from 2000-01 to 2100-12" in str(r.exception), r.output


def test_a_consent_method_of_the_longest_allowed_length_is_stored(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    for granted in (True, False):
        r = client.post(f"{API}/members/{c.top}/consents",
                        json={"channel": "email", "granted": granted, "method": "m" * 64})
        assert r.status_code == 200, r.text
        assert r.json()["email"] is granted
