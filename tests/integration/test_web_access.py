"""Every page route × every role: allowed, forbidden (403) or sent to sign in; and records of
others reached by id are *not found* (404), so ids cannot be probed.

The table below must name every page route of the app: a new page without an entry fails
``test_every_page_route_is_in_the_table``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage.db.care import Touch
from patronage.db.engine import transaction
from tests.e2e.world import EMAILS, World, app_for, csrf_of, seed, sign_in

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
