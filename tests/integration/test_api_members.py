"""Members and genealogy through the API: lists with filters and pages, reads scoped by role,
enrolment and moves, problem details; on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from patronage.access import Principal
from patronage.db.engine import transaction
from tests.factories import customer, distributor
from tests.integration.test_api_support import API, acting_as, app_for, bearer, company, token_for


def test_staff_lists_members_a_page_at_a_time_following_next(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    seen: list[int] = []
    url: str | None = f"{API}/members?limit=2"
    while url:
        page = client.get(url).json()
        assert len(page["items"]) <= 2
        seen += [m["id"] for m in page["items"]]
        url = page["next"]
    assert seen == sorted([c.top, c.mid, c.other, c.top_customer, c.mid_customer,
                           c.other_customer])


def test_member_filters_by_kind_owner_and_name(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    kinds = client.get(f"{API}/members", params={"kind": "distributor"}).json()["items"]
    assert {m["id"] for m in kinds} == {c.top, c.mid, c.other}
    owned = client.get(f"{API}/members", params={"owner_id": c.mid}).json()["items"]
    assert [m["id"] for m in owned] == [c.mid_customer]
    named = client.get(f"{API}/members", params={"q": "os"}).json()["items"]
    assert [m["first_name"] for m in named] == ["Oscar"]


def test_limit_above_the_maximum_is_a_validation_problem_naming_the_parameter(
        engine: Engine) -> None:
    c = company(engine)
    r = acting_as(app_for(engine), c.staff()).get(f"{API}/members?limit=100000")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["instance"] == f"{API}/members"
    assert body["errors"][0]["loc"] == ["query", "limit"]


def test_distributor_lists_only_self_own_customers_and_downline(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.top))
    ids = {m["id"] for m in client.get(f"{API}/members").json()["items"]}
    assert ids == {c.top, c.mid, c.top_customer}


def test_distributor_reading_another_distributors_customer_gets_not_found(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.distributor(c.mid))
    assert client.get(f"{API}/members/{c.mid_customer}").json()["first_name"] == "Mia"
    r = client.get(f"{API}/members/{c.other_customer}")
    assert r.status_code == 404
    assert r.json()["detail"] == f"member {c.other_customer} does not exist"
    # The same answer as for an id that does not exist at all: nothing to probe.
    assert client.get(f"{API}/members/99999").json()["detail"] == "member 99999 does not exist"


def test_customer_sees_only_themselves(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    assert [m["id"] for m in client.get(f"{API}/members").json()["items"]] == [c.mid_customer]
    assert client.get(f"{API}/members/{c.mid}").status_code == 404


def test_token_enrols_a_customer_and_a_bad_owner_is_refused_with_the_reason(
        engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "members:write", "members:read"))
    r = client.post(f"{API}/members", headers=auth, json={
        "kind": "retail", "first_name": "Rae", "owner_id": c.mid, "email": "rae@example.com",
        "consents": {"email": True}})
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["owner_id"], new["kind"], new["joined_at"][:10]) == (c.mid, "retail",
                                                                     "2026-10-15")
    assert client.get(f"{API}/members/{new['id']}/consents", headers=auth).json()["email"] is True
    bad = client.post(f"{API}/members", headers=auth, json={
        "kind": "retail", "first_name": "Rex", "owner_id": c.mid_customer})
    assert bad.status_code == 422
    assert "an owner must be a distributor" in bad.json()["detail"]


def test_moving_a_customer_to_another_owner_is_dated_and_changes_who_sees_them(
        engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    r = client.post(f"{API}/members/{c.mid_customer}/move",
                    json={"to": c.other, "reason": "moved town"})
    assert r.status_code == 200 and r.json()["owner_id"] == c.other
    acting_as(client, c.distributor(c.mid))
    assert client.get(f"{API}/members/{c.mid_customer}").status_code == 404


def test_customer_withdraws_own_email_consent_but_not_anothers(engine: Engine) -> None:
    c = company(engine)
    client = acting_as(app_for(engine), c.customer(c.mid_customer))
    r = client.post(f"{API}/members/{c.mid_customer}/consents",
                    json={"channel": "email", "granted": False})
    assert r.status_code == 200 and r.json()["email"] is False
    other = client.post(f"{API}/members/{c.other_customer}/consents",
                        json={"channel": "email", "granted": False})
    assert other.status_code == 404


def test_downline_goes_level_by_level_to_the_depth_asked(engine: Engine) -> None:
    with transaction(engine) as s:
        root = distributor(s, "Root")
        a = distributor(s, "A", sponsor=root)
        b = distributor(s, "B", sponsor=a)
        deep = distributor(s, "C", sponsor=b)
        customer(s, a, "Cust")
    client = acting_as(app_for(engine), company_staff())
    two = client.get(f"{API}/members/{root}/downline?depth=2").json()["items"]
    assert [(m["id"], m["level"]) for m in two] == [(a, 1), (b, 2)]
    three = client.get(f"{API}/members/{root}/downline?depth=3&limit=2").json()
    assert [m["id"] for m in three["items"]] == [a, b] and three["next"]
    assert [m["id"] for m in client.get(three["next"]).json()["items"]] == [deep]
    up = client.get(f"{API}/members/{deep}/upline?depth=2").json()
    assert [(m["id"], m["level"]) for m in up] == [(b, 1), (a, 2)]


def test_a_distributor_sees_the_upline_of_their_downline_only_up_to_themselves(
        engine: Engine) -> None:
    with transaction(engine) as s:
        root = distributor(s, "Root")
        a = distributor(s, "A", sponsor=root)
        b = distributor(s, "B", sponsor=a)
    client = acting_as(app_for(engine), Principal.for_role("distributor", a, "a"))
    up = client.get(f"{API}/members/{b}/upline?depth=10").json()
    assert [m["id"] for m in up] == [a]
    assert client.get(f"{API}/members/{root}/downline").status_code == 404


def company_staff() -> Principal:
    return Principal.for_role("staff", None, "sam")


def test_erasure_and_consent_changes_go_to_the_audit_log(engine: Engine) -> None:
    from sqlalchemy import select

    from patronage.db.accounts import AuditEntry

    c = company(engine)
    client = acting_as(app_for(engine), c.staff())
    client.post(f"{API}/members/{c.top_customer}/consents",
                json={"channel": "sms", "granted": True})
    erased = client.post(f"{API}/members/{c.top_customer}/erase").json()
    assert (erased["first_name"], erased["email"], erased["status"]) == ("(erased)", None,
                                                                         "erased")
    with transaction(engine) as s:
        rows = [(e.action, e.target, e.actor) for e in s.scalars(
            select(AuditEntry).order_by(AuditEntry.id))]
    target = f"member {c.top_customer}"
    assert rows == [("consent.change", target, "staff:sam@example.com"),
                    ("member.erase", target, "staff:sam@example.com")]


def test_enrolment_refuses_a_bad_email_or_date_with_the_reason(engine: Engine) -> None:
    c = company(engine)
    client = app_for(engine)
    auth = bearer(token_for(engine, "members:write", "members:read"))
    base = {"kind": "retail", "first_name": "Rae", "owner_id": c.mid}
    two = client.post(f"{API}/members", headers=auth, json={
        **base, "email": '"evil"@x.com, other@victim.example'})
    assert two.status_code == 422, two.text
    assert "email" in two.text and "Quoting the part before the @-sign" in two.text
    crlf = client.post(f"{API}/members", headers=auth, json={
        **base, "email": "rae@example.com\r\nBcc: x@victim.example"})
    assert crlf.status_code == 422 and "is not a valid email address" in crlf.text
    old = client.post(f"{API}/members", headers=auth, json={
        **base, "joined_at": "0001-01-01T00:00:00Z"})
    assert old.status_code == 422
    assert "joined_at: 0001-01-01T00:00:00+00:00 is before 1970-01-01" in old.text
    born = client.post(f"{API}/members", headers=auth, json={
        **base, "birth_year": 1850, "birth_month": 3, "birth_day": 1})
    assert born.status_code == 422 and "birth_year: 1850 is before 1900" in born.text
    ok = client.post(f"{API}/members", headers=auth, json={**base, "email": "Rae@Example.COM"})
    assert ok.status_code == 201 and ok.json()["email"] == "Rae@example.com"
