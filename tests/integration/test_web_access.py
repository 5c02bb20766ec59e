"""Every page route × every role: allowed, forbidden (403) or sent to sign in; and records of
others reached by id are *not found* (404), so ids cannot be probed.

The table below must name every page route of the app: a new page without an entry fails
``test_every_page_route_is_in_the_table``.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.clock import Period
from patronage.compensation.reports import explain_member
from patronage.compensation.runs import commit_period
from patronage.db.care import Touch
from patronage.db.engine import transaction
from patronage.db.tables import Order
from patronage.network.members import move_owner
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.value.service import fit_values
from patronage.web.accounts import create_account
from tests import factories as f
from tests.e2e.world import (
    EMAILS,
    NOW,
    PASSWORD,
    World,
    app_for,
    csrf_of,
    seed,
    sign_in,
)

pytestmark = pytest.mark.storage

ROLES = ("anonymous", "staff", "distributor", "customer")
PUBLIC = frozenset(ROLES)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
STAFF = frozenset({"staff"})
DIST = frozenset({"distributor"})
CUST = frozenset({"customer"})
STAFF_DIST = frozenset({"staff", "distributor"})

#: (method, path) -> roles allowed. Everyone else: 403 when signed in, sign-in page otherwise.
ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/password/forgot"): PUBLIC,
    ("POST", "/password/forgot"): PUBLIC,
    ("GET", "/password/reset/{key}"): PUBLIC,
    ("POST", "/password/reset/{key}"): PUBLIC,
    ("GET", "/today"): DIST,
    ("POST", "/tasks/{touch_id}/done"): DIST,
    ("GET", "/customers"): DIST,
    ("GET", "/customers/{member_id}"): STAFF_DIST,
    ("POST", "/customers/{member_id}/notes"): STAFF_DIST,
    ("GET", "/business"): DIST,
    ("GET", "/business/projection"): DIST,
    ("GET", "/team"): DIST,
    ("GET", "/team.csv"): DIST,
    ("GET", "/me"): CUST,
    ("GET", "/me/data.json"): CUST,
    ("POST", "/me/autoship/{subscription_id}/{action}"): CUST,
    ("POST", "/me/profile"): CUST,
    ("POST", "/me/consent"): CUST,
    ("POST", "/me/unsubscribe"): CUST,
    ("POST", "/me/testimonial"): CUST,
    ("GET", "/p/{token}"): PUBLIC,
    ("POST", "/p/{token}"): PUBLIC,
    ("GET", "/u/{token}"): PUBLIC,
    ("POST", "/u/{token}"): PUBLIC,
    ("GET", "/s/{token}"): PUBLIC,
    ("POST", "/s/{token}"): PUBLIC,
    ("GET", "/t/{token}"): PUBLIC,
    ("POST", "/t/{token}"): PUBLIC,
    ("GET", "/company"): STAFF,
    ("GET", "/company/members"): STAFF,
    ("GET", "/company/orders"): STAFF,
    ("GET", "/company/autoship"): STAFF,
    ("GET", "/company/care"): STAFF,
    ("GET", "/company/audit"): STAFF,
    ("GET", "/company/runs"): STAFF,
    ("GET", "/company/runs/preview"): STAFF,
    ("POST", "/company/runs/compare"): STAFF,
    ("POST", "/company/runs/commit"): STAFF,
    ("GET", "/company/imports"): STAFF,
    ("POST", "/company/imports"): STAFF,
    ("GET", "/company/imports/jobs/{job_id}"): STAFF,
}

#: Routes whose POST is not exercised by a role that may use it in the matrix (it would end
#: the session or needs a file); their own tests cover them.
NOT_POSTED_WHEN_ALLOWED = {"/logout", "/login", "/account/password", "/company/imports",
                           "/company/runs/compare", "/company/runs/commit", "/password/forgot",
                           "/password/reset/{key}"}


#: What an allowed role gets where it is not a plain 200 page (GET) or 200/303/400 (a POST
#: with an empty form).
ALLOWED_STATUS: dict[tuple[str, str], set[int]] = {
    ("GET", "/"): {303},
    ("GET", "/password/reset/{key}"): {400},  # a made-up key: the page says the link is bad
    ("GET", "/company/imports/jobs/{job_id}"): {404},  # a made-up job
}


def _flatten(routes: list[Any], prefix: str = "",
             in_schema: bool = True) -> list[tuple[str, APIRoute, bool]]:
    """Every endpoint of the app, through included routers (whichever way FastAPI keeps
    them), with its full path and whether it is in the OpenAPI schema."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            ctx = route.include_context
            out += _flatten(included.routes, prefix + ctx.prefix,
                            in_schema and ctx.include_in_schema)
        elif isinstance(route, APIRoute):
            out.append((prefix + route.path, route, in_schema and route.include_in_schema))
    return out


def page_routes(app: Any) -> set[tuple[str, str]]:
    """The web pages: every endpoint outside the documented REST API."""
    out = set()
    for path, route, in_schema in _flatten(app.routes):
        if in_schema or path.startswith("/api/"):
            continue
        for method in route.methods - {"HEAD"}:
            out.add((method, path))
    return out


def fill(path: str, w: World) -> str:
    return (path.replace("{touch_id}", str(w.ann_task))
            .replace("{member_id}", str(w.cory))
            .replace("{subscription_id}", str(w.cory_sub))
            .replace("{action}", "skip")
            .replace("{key}", "not-a-reset-key")
            .replace("{job_id}", "999999")
            .replace("{token}", w.token(_purpose(path))))


def _purpose(path: str) -> str:
    return {"/p/": "preferences", "/u/": "unsubscribe", "/s/": "survey",
            "/t/": "testimonial"}.get(path[:3], "preferences")


def client_for(engine: Engine, role: str) -> TestClient:
    client = TestClient(app_for(engine))
    if role != "anonymous":
        assert sign_in(client, EMAILS[role]).status_code == 303
    return client


def test_every_page_route_is_in_the_table(engine: Engine) -> None:
    app = app_for(engine)
    assert page_routes(app) == set(ACCESS)


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(engine: Engine, role: str) -> None:
    w = seed(engine)
    client = client_for(engine, role)
    csrf = csrf_of(client.get("/login").text)
    problems = []
    for (method, path), allowed in sorted(ACCESS.items(), key=lambda kv: kv[0][0]):
        url = fill(path, w)
        if method == "GET":
            r = client.get(url, follow_redirects=False)
        else:
            if role in allowed and path in NOT_POSTED_WHEN_ALLOWED:
                continue
            r = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
        location = r.headers.get("location", "")
        if role in allowed:
            expected = ALLOWED_STATUS.get((method, path), {200} if method == "GET" else
                                          {200, 303, 400})
            ok = r.status_code in expected and not (
                r.status_code == 303 and location.startswith("/login") and path != "/")
        elif role == "anonymous":
            ok = r.status_code == 303 and location.startswith("/login?next=")
        else:
            ok = r.status_code == 403
        if not ok:
            problems.append(f"{role} {method} {path}: {r.status_code} {location}")
    assert problems == []


def test_distributor_cannot_open_another_distributors_customer(engine: Engine) -> None:
    w = seed(engine)
    ann = client_for(engine, "distributor")
    assert ann.get(f"/customers/{w.cory}").status_code == 200
    assert ann.get(f"/customers/{w.ben}").status_code == 200  # downline distributor
    for other in (w.zoe, w.zed, w.bea, 999_999):  # Zed's customer, Zed, downline's customer
        response = ann.get(f"/customers/{other}")
        assert response.status_code == 404, other
        assert "Not found" in response.text
    csrf = csrf_of(ann.get("/today").text)
    note = ann.post(f"/customers/{w.zoe}/notes", data={"csrf_token": csrf, "body": "hi"})
    assert note.status_code == 404


def test_distributor_cannot_mark_another_distributors_task(engine: Engine) -> None:
    w = seed(engine)
    ann = client_for(engine, "distributor")
    csrf = csrf_of(ann.get("/today").text)
    assert ann.post(f"/tasks/{w.zed_task}/done", data={"csrf_token": csrf}).status_code == 404
    with transaction(engine) as s:
        touch = s.get(Touch, w.zed_task)
        assert touch is not None and touch.status == "planned"


def test_customer_cannot_act_on_another_customers_autoship(engine: Engine) -> None:
    w = seed(engine)
    cory = client_for(engine, "customer")
    csrf = csrf_of(cory.get("/me").text)
    for action in ("skip", "cancel"):
        response = cory.post(f"/me/autoship/{w.zoe_sub}/{action}", data={"csrf_token": csrf})
        assert response.status_code == 404
    assert cory.get(f"/customers/{w.zoe}").status_code == 403
    page = cory.get("/me").text
    # Tokens (CSRF, signed links) are random letters: leave them out before looking for a name.
    words = re.sub(r'(value|href)="[^"]*"', "", page)
    assert "Cory" in words and "Zoe" not in words


def test_staff_sees_every_member(engine: Engine) -> None:
    w = seed(engine)
    staff = client_for(engine, "staff")
    for member in (w.cory, w.zoe, w.bea, w.zed):
        assert staff.get(f"/customers/{member}").status_code == 200


def _october(engine: Engine, w: World) -> tuple[int, int]:
    """October business below Ann: Ben's customer Bea orders again, Ben's new customer Bree
    orders, a new distributor Dee joins under Ben and orders; Ann orders enough to be active,
    Ben does not (so a level of Dee's volume passes over Ben to Ann). September is committed,
    the values are fitted. Returns the ids of Bree and Dee."""
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    with transaction(engine) as s:
        bree = f.customer(s, w.ben, "Bree", joined_at=NOW)
        dee = f.distributor(s, "Dee", sponsor=w.ben, joined_at=NOW)
        for buyer, n in ((w.ann, 3), (w.bea, 1), (bree, 1), (dee, 3)):
            place_order(s, NewOrder(buyer, NOW, [LineRequest("SHAKE", n)]), now=NOW)
    fit_values(engine, NOW)
    return bree, dee


def test_an_upline_sees_no_customer_of_a_downline_distributor_on_any_page(
        engine: Engine) -> None:
    """Ann's pages (today, customers, business, the projection for both periods, team) and the
    team export never name Ben's customers; their pages are not found."""
    w = seed(engine)
    bree, _ = _october(engine, w)
    ann = client_for(engine, "distributor")
    pages = ["/today", "/customers", "/customers?q=Br", "/customers?order=risk", "/business",
             "/business/projection", "/business/projection?period=2026-09", "/team",
             "/team?level=2", "/team.csv"]
    for page in pages:
        r = ann.get(page)
        assert r.status_code == 200 and 'class="error"' not in r.text, (page, r.text)
        for word in ("Bea", "Bree", f"(#{w.bea})", f"(#{bree})"):
            assert word not in r.text, (page, word)
    assert "Dee" in ann.get("/team?level=2").text  # the downline distributor is visible
    for hidden in (w.bea, bree):
        assert ann.get(f"/customers/{hidden}").status_code == 404


def test_the_projection_names_only_who_the_distributor_may_see(engine: Engine,
                                                              db_url: str) -> None:
    """Ben's explanation has a level of Dee's volume passed over him to Ann, his upline: Ann is
    not someone Ben may see, so she is worded "a distributor of your team"; the amounts stay."""
    w = seed(engine)
    bree, dee = _october(engine, w)
    with transaction(engine) as s:
        create_account(s, email="ben@example.com", password=PASSWORD, role="distributor",
                       member_id=w.ben, now=NOW)
    ben = TestClient(app_for(engine))
    assert sign_in(ben, "ben@example.com").status_code == 303
    page = ben.get("/business/projection").text
    assert "Ann" not in page and f"(#{w.ann})" not in page
    assert (f"unilevel level 1 of Dee (#{dee}) passed to a distributor of your team: "
            f"Ben (#{w.ben}) inactive") in html.unescape(page), page
    assert "customer acquisition" in page and f"Bree (#{bree})" in page  # his own customer
    # The command line is the company's: it names everyone, with the same amounts.
    result = CliRunner().invoke(cli, ["--db", db_url, "commissions", "explain", "--member",
                                      str(w.ben), "--period", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    staff_lines = json.loads(result.output)
    assert staff_lines == explain_member(engine, w.ben, Period(2026, 10))
    assert (f"unilevel level 1 of Dee (#{dee}) passed to Ann (#{w.ann}): Ben (#{w.ben}) "
            "inactive") in "\n".join(staff_lines), staff_lines


def test_the_business_page_lines_name_only_who_the_distributor_may_see(engine: Engine) -> None:
    """Ben's committed September lines include a retail profit from an order of Bea's; once Bea
    is handed to Zed, the line keeps its amount but no longer names her order."""
    w = seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    with transaction(engine) as s:
        create_account(s, email="ben@example.com", password=PASSWORD, role="distributor",
                       member_id=w.ben, now=NOW)
        bea_order = s.scalars(select(Order.id).where(Order.buyer_id == w.bea)).one()
    ben = TestClient(app_for(engine))
    assert sign_in(ben, "ben@example.com").status_code == 303
    assert f"retail profit from order {bea_order}" in ben.get("/business").text
    with transaction(engine) as s:
        move_owner(s, w.bea, w.zed, effective_at=NOW, recorded_at=NOW, actor="test",
                   reason="asked to")
    page = ben.get("/business").text
    assert f"order {bea_order}" not in page
    assert "retail profit from an order of a customer of your team" in page
