"""Every route of the app (the REST API, the pages, the documentation and the static files) ×
seven viewers, each signed in through the real sign-in form: staff, an upline distributor, the
distributor who owns the customer the route is aimed at, another distributor, that customer
themself, another customer, and nobody. :data:`MATRIX` states the outcome expected for each:

- ``A`` allowed: the route does its work (2xx, a redirect that is not to the sign-in page, or a
  refusal of the content, 400/409/413/422, which means access was granted);
- ``E`` allowed, but the list holds nothing of the target (200 with no items);
- ``D`` denied: 403 or 404, and the answer names nobody of the target's family;
- ``L`` sent to sign in (303 to ``/login?next=...``);
- ``U`` unauthenticated API call: 401, as a problem document.

The routes are read from ``app.routes``: a route missing from the table fails
``test_every_route_is_in_the_matrix``. One company is seeded per database and shared by the
whole matrix: identity-changing actions (erase, move, upgrade) are aimed at a spare customer of
the same distributor (but for the customer herself), and signing out comes last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Mount, Route

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.subscriptions import Item, subscribe
from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.db.care import SurveyResponse, Touch
from patronage.db.care import Testimonial as Story
from patronage.db.engine import transaction
from patronage.db.tables import Member, Order
from patronage.shop.links import share_code
from patronage.value.service import fit_values
from patronage.web.accounts import create_account
from tests import factories as f
from tests.e2e.world import EMAILS, NOW, PASSWORD, World, app_for, csrf_of, seed, sign_in
from tests.integration.test_api_access_matrix import BODIES, LIST_FILTERS

pytestmark = [pytest.mark.storage, pytest.mark.slow]

VIEWERS = ("staff", "upline", "owner", "other_distributor", "own_customer", "other_customer",
           "anonymous")
SIGN_INS = {"staff": EMAILS["staff"], "upline": EMAILS["distributor"],
            "owner": "ben@example.com", "other_distributor": EMAILS["other_distributor"],
            "own_customer": "bea@example.com", "other_customer": EMAILS["other_customer"]}
API = "/api/v1"

#: (method, path) -> the outcome for each viewer, in the order of :data:`VIEWERS`: staff,
#: upline, owner, other distributor, own customer, other customer, anonymous (the letters are
#: explained in the module's docstring). "ADADDDU": staff and the owner may; the upline, the
#: other distributor and both customers may not; nobody signed in gets 401.
MATRIX: dict[tuple[str, str], str] = {
    # The REST API: signed-in sessions carry the role's scopes; nobody signed in gets 401.
    ("GET", "/api/v1/care/holdout"): "ADDDDDU",
    ("GET", "/api/v1/care/members/{member_id}/notes"): "ADADDDU",
    ("POST", "/api/v1/care/members/{member_id}/notes"): "ADADDDU",
    ("GET", "/api/v1/care/rules"): "ADDDDDU",
    ("GET", "/api/v1/care/surveys"): "AEAEAEU",
    ("GET", "/api/v1/care/tasks"): "ADADDDU",
    ("POST", "/api/v1/care/tasks/{touch_id}/done"): "ADADDDU",
    ("GET", "/api/v1/care/testimonials"): "AEAEAEU",
    ("POST", "/api/v1/care/testimonials"): "ADDDADU",
    ("POST", "/api/v1/care/testimonials/{testimonial_id}/moderate"): "ADDDDDU",
    ("POST", "/api/v1/care/testimonials/{testimonial_id}/publish"): "ADDDDDU",
    ("POST", "/api/v1/care/testimonials/{testimonial_id}/withdraw"): "ADDDADU",
    ("GET", "/api/v1/care/touches"): "AEAEEEU",
    ("GET", "/api/v1/commissions/runs"): "ADDDDDU",
    ("POST", "/api/v1/commissions/{period}/commit"): "ADDDDDU",
    ("GET", "/api/v1/commissions/{period}/members/{member_id}/explain"): "AAADDDU",
    ("GET", "/api/v1/commissions/{period}/members/{member_id}/rank-card"): "AAADDDU",
    ("GET", "/api/v1/commissions/{period}/preview"): "ADDDDDU",
    ("GET", "/api/v1/members"): "AEAEAEU",
    ("POST", "/api/v1/members"): "ADDDDDU",
    ("GET", "/api/v1/members/{member_id}"): "ADADADU",
    ("GET", "/api/v1/members/{member_id}/consents"): "ADADADU",
    ("POST", "/api/v1/members/{member_id}/consents"): "ADDDADU",
    ("GET", "/api/v1/members/{member_id}/downline"): "ADADADU",
    ("POST", "/api/v1/members/{member_id}/erase"): "ADDDDDU",
    ("GET", "/api/v1/members/{member_id}/export"): "ADDDADU",
    ("POST", "/api/v1/members/{member_id}/move"): "ADDDDDU",
    ("POST", "/api/v1/members/{member_id}/upgrade"): "ADDDDDU",
    ("GET", "/api/v1/members/{member_id}/upline"): "ADADADU",
    ("GET", "/api/v1/orders"): "AEAEAEU",
    ("POST", "/api/v1/orders"): "ADDDDDU",
    ("GET", "/api/v1/orders/{order_id}"): "ADADADU",
    ("GET", "/api/v1/orders/{order_id}/refunds"): "ADADADU",
    ("POST", "/api/v1/orders/{order_id}/refunds"): "ADDDDDU",
    ("GET", "/api/v1/plan"): "ADDDDDU",
    ("GET", "/api/v1/plan/versions"): "ADDDDDU",
    ("GET", "/api/v1/markets"): "AAAAAAU",
    ("GET", "/api/v1/products"): "AAAAAAU",
    ("POST", "/api/v1/products"): "ADDDDDU",
    ("GET", "/api/v1/products/{sku}"): "AAAAAAU",
    ("GET", "/api/v1/subscriptions"): "AEAEAEU",
    ("POST", "/api/v1/subscriptions"): "ADDDADU",
    ("GET", "/api/v1/subscriptions/{subscription_id}"): "ADADADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/cancel"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/change-date"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/items"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/items/add"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/items/swap"): "ADDDADU",
    ("DELETE", "/api/v1/subscriptions/{subscription_id}/items/{sku}"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/pause"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/restart"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/resume"): "ADDDADU",
    ("GET", "/api/v1/subscriptions/{subscription_id}/save-offers"): "ADADADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/skip"): "ADDDADU",
    ("POST", "/api/v1/subscriptions/{subscription_id}/undo-skip"): "ADDDADU",
    ("GET", "/api/v1/values/distributors/{member_id}/customers"): "ADADDDU",
    ("GET", "/api/v1/values/distributors/{member_id}/overview"): "ADADDDU",
    ("GET", "/api/v1/values/members/{member_id}"): "ADADDDU",
    # Pages, the documentation and static files: nobody signed in is sent to sign in.
    ("GET", "/"): "AAAAAAA",
    ("GET", "/account"): "AAAAAAL",
    ("POST", "/account/password"): "AAAAAAL",
    ("POST", "/account/language"): "AAAAAAL",
    ("GET", "/agreement"): "AAAAAAA",
    ("POST", "/agreement"): "DAAADDL",
    ("GET", "/business"): "DAAADDL",
    ("GET", "/business/projection"): "DAAADDL",
    ("GET", "/cards"): "DAAADDL",
    ("POST", "/cards/print"): "DAAADDL",
    ("GET", "/company"): "ADDDDDL",
    ("GET", "/company/audit"): "ADDDDDL",
    ("GET", "/company/jobs"): "ADDDDDL",
    ("GET", "/company/compliance"): "ADDDDDL",
    ("POST", "/company/compliance/buy-backs"): "ADDDDDL",
    ("POST", "/company/compliance/flags/clear"): "ADDDDDL",
    ("GET", "/company/autoship"): "ADDDDDL",
    ("GET", "/company/care"): "ADDDDDL",
    ("GET", "/company/imports"): "ADDDDDL",
    ("GET", "/company/imports/jobs/{job_id}"): "ADDDDDL",
    ("POST", "/company/imports"): "ADDDDDL",
    ("GET", "/company/members"): "ADDDDDL",
    ("GET", "/company/members/{member_id}"): "ADDDDDL",
    ("GET", "/company/members/{member_id}/statements/{period}"): "ADDDDDL",
    ("GET", "/company/members/{member_id}/statements/{period}/pdf"): "ADDDDDL",
    ("GET", "/company/orders"): "ADDDDDL",
    ("GET", "/company/payouts"): "ADDDDDL",
    ("POST", "/company/payouts/adjustments"): "ADDDDDL",
    ("POST", "/company/payouts/adjustments/decide"): "ADDDDDL",
    ("POST", "/company/payouts/holds"): "ADDDDDL",
    ("POST", "/company/payouts/holds/release"): "ADDDDDL",
    ("POST", "/company/payouts/batches"): "ADDDDDL",
    ("POST", "/company/payouts/batches/{batch_id}/export"): "ADDDDDL",
    ("GET", "/company/orders/{order_id}"): "ADDDDDL",
    ("GET", "/company/runs"): "ADDDDDL",
    ("POST", "/company/runs/commit"): "ADDDDDL",
    ("POST", "/company/runs/compare"): "ADDDDDL",
    ("GET", "/company/runs/preview"): "ADDDDDL",
    ("GET", "/company/runs/{run_id}"): "ADDDDDL",
    # Simulations: staff only. Staff's POST (every default) keeps simulation 1, read after it.
    ("GET", "/company/simulations"): "ADDDDDL",
    ("POST", "/company/simulations"): "ADDDDDL",
    ("GET", "/company/simulations/compare"): "ADDDDDL",
    ("POST", "/company/simulations/replay"): "ADDDDDL",
    ("GET", "/company/simulations/{simulation_id}"): "ADDDDDL",
    ("GET", "/company/simulations/{simulation_id}.csv"): "ADDDDDL",
    ("GET", "/customers"): "DAAADDL",
    ("GET", "/customers/{member_id}"): "ADADDDL",
    ("POST", "/customers/{member_id}/notes"): "ADADDDL",
    ("GET", "/docs"): "AAAAAAA",
    ("GET", "/earnings"): "DAAADDL",
    # A statement of a month (the matrix asks for 2026-10, not over yet: 400, access granted).
    ("GET", "/earnings/statements/{period}"): "DAAADDL",
    ("GET", "/earnings/statements/{period}/pdf"): "DAAADDL",
    ("GET", "/docs/assets/{path}"): "AAAAAAA",
    # The income disclosure is public (no sign-in), as regulators expect it to be.
    ("GET", "/income-disclosure"): "AAAAAAA",
    ("GET", "/income-disclosure/{year}"): "AAAAAAA",
    ("GET", "/income-disclosure/{year}.csv"): "AAAAAAA",
    ("GET", "/income-disclosure/{year}.pdf"): "AAAAAAA",
    ("GET", "/login"): "AAAAAAA",
    ("POST", "/login"): "AAAAAAA",
    ("POST", "/logout"): "AAAAAAA",
    ("GET", "/me"): "DDDDAAL",
    # Each customer's own card page (no Stripe key in the matrix: the page says so; a bare
    # save is refused for it, 400: access granted).
    ("GET", "/me/card"): "DDDDAAL",
    ("POST", "/me/card"): "DDDDAAL",
    ("POST", "/me/autoship/{subscription_id}/{action}"): "DDDDADL",
    ("POST", "/me/consent"): "DDDDAAL",
    ("GET", "/me/data.json"): "DDDDAAL",
    ("POST", "/me/profile"): "DDDDAAL",
    ("POST", "/me/testimonial"): "DDDDAAL",
    ("POST", "/me/unsubscribe"): "DDDDAAL",
    ("GET", "/openapi.json"): "AAAAAAA",
    # Operations: probes and the Prometheus scrape are public (no personal data in them).
    ("GET", "/healthz"): "AAAAAAA",
    ("GET", "/readyz"): "AAAAAAA",
    ("GET", "/metrics"): "AAAAAAA",
    ("GET", "/p/{token}"): "AAAAAAA",
    ("POST", "/p/{token}"): "AAAAAAA",
    ("GET", "/password/forgot"): "AAAAAAA",
    ("POST", "/password/forgot"): "AAAAAAA",
    ("GET", "/password/reset/{key}"): "AAAAAAA",
    ("POST", "/password/reset/{key}"): "AAAAAAA",
    ("GET", "/s/{token}"): "AAAAAAA",
    ("POST", "/s/{token}"): "AAAAAAA",
    ("GET", "/static/{path}"): "AAAAAAA",
    ("GET", "/t/{token}"): "AAAAAAA",
    ("POST", "/t/{token}"): "AAAAAAA",
    ("POST", "/tasks/{touch_id}/done"): "DDADDDL",
    ("POST", "/tasks/{touch_id}/not-now"): "DDADDDL",
    ("GET", "/tasks/{touch_id}/note"): "DDADDDL",
    ("POST", "/tasks/{touch_id}/note"): "DDADDDL",
    ("POST", "/tasks/{touch_id}/snooze"): "DDADDDL",
    ("GET", "/team"): "DAAADDL",
    # A distributor's own playbook (what they follow, adopt, share): distributors only.
    ("GET", "/playbook"): "DAAADDL",
    ("POST", "/playbook/adopt"): "DAAADDL",
    ("POST", "/playbook/save"): "DAAADDL",
    ("POST", "/playbook/share"): "DAAADDL",
    ("POST", "/playbook/update"): "DAAADDL",
    ("POST", "/playbook/leave"): "DAAADDL",
    ("POST", "/playbook/template"): "DAAADDL",
    ("POST", "/playbook/template/remove"): "DAAADDL",
    ("GET", "/team.csv"): "DAAADDL",
    ("GET", "/payout-method"): "DAAADDL",
    ("POST", "/payout-method"): "DAAADDL",
    ("POST", "/payout-method/tax-id"): "DAAADDL",
    ("GET", "/today"): "DAAADDL",
    ("GET", "/u/{token}"): "AAAAAAA",
    ("POST", "/u/{token}"): "AAAAAAA",
    # Stripe's events: no sign-in, the signature is the authority (400 without one).
    ("POST", "/webhooks/stripe"): "AAAAAAA",
    # The mail provider's bounces and complaints: the shared secret's signature is the
    # authority (400 without one).
    ("POST", "/webhooks/mail"): "AAAAAAA",
    # The SMS provider's status callbacks and replies: Twilio's signature is the authority
    # (400 without one).
    ("POST", "/webhooks/sms/status"): "AAAAAAA",
    ("POST", "/webhooks/sms/inbound"): "AAAAAAA",
    # The shop and share links are public by design: anyone may open a link, fill a cart and
    # check out (a signed-in customer or distributor buys as themselves). The matrix's bare
    # checkout is refused for its empty fields (400: access granted).
    ("GET", "/join/{code}"): "AAAAAAA",
    ("GET", "/shop"): "AAAAAAA",
    ("POST", "/shop/cart"): "AAAAAAA",
    ("GET", "/shop/checkout"): "AAAAAAA",
    ("POST", "/shop/checkout"): "AAAAAAA",
    # Each member's own share page (distributors and customers; staff have no link); passing
    # on a lead is for customers.
    ("GET", "/share"): "DAAAAAL",
    ("POST", "/share/lead"): "DDDDAAL",
}

#: Routes that change who a member is: aimed at a spare customer of the owner (the target
#: customer herself only when she is the viewer).
SPARE_ROUTES = {("POST", f"{API}/members/{{member_id}}/erase"),
                ("POST", f"{API}/members/{{member_id}}/move"),
                ("POST", f"{API}/members/{{member_id}}/upgrade")}

#: Routes about a distributor's business: aimed at the owner, Ben (the others at Bea).
ABOUT_THE_OWNER = (f"{API}/values/distributors/", f"{API}/commissions/{{period}}/members/")


@dataclass
class Family:
    """Ann (upline) → Ben (owner) → Bea (his customer, on autoship, with a task, a story and
    an order); Zed and his customer Zoe are the others."""

    world: World
    bea_sub: int
    bea_task: int
    bea_story: int
    bea_order: int
    #: Ben's share code (the link a stranger may open: it names Ben, never Bea).
    ben_code: str
    run: int

    @property
    def bea(self) -> int:
        return self.world.bea

    @property
    def ben(self) -> int:
        return self.world.ben


def family(engine: Engine) -> Family:
    w = seed(engine)
    with transaction(engine) as s:
        for email, member, role in (("ben@example.com", w.ben, "distributor"),
                                    ("bea@example.com", w.bea, "customer")):
            create_account(s, email=email, password=PASSWORD, role=role, member_id=member,
                           now=NOW)
        sub = subscribe(s, w.bea, [Item("SHAKE"), Item("TEA")], Frequency("monthly", 14),
                        start=date(2026, 11, 1), now=NOW, actor="test").id
        touch = Touch(member_id=w.bea, owner_id=w.ben, rule_key="thanks_ben",
                      occasion="thank_you", occasion_key="bea", channel="task",
                      template="call", priority=50, status="planned", due_at=NOW,
                      created_at=NOW, summary="Call Bea to say thank you")
        story = Story(member_id=w.bea, text="Bea's story about the shakes",
                      consent_to_publish=True, discloses_connection=False,
                      status="submitted", submitted_at=NOW)
        s.add_all([touch, story, SurveyResponse(
            member_id=w.bea, survey_key="serve", score=9, comment="Bea likes it", serious=False,
            answered_at=NOW)])
        s.flush()
        order = s.query(Order.id).filter(Order.buyer_id == w.bea).scalar()
        assert order is not None
        family = Family(w, sub, touch.id, story.id, order, share_code(s, w.ben, now=NOW), 0)
    fit_values(engine, NOW)
    family.run = commit_period(engine, Period(2026, 9), None, now=NOW, actor="test",
                               company_zone="UTC")
    return family


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, through included routers; mounted apps (the
    static files) as ``GET <mount>/{path}``."""
    out: set[tuple[str, str]] = set()

    def walk(items: list[Any], prefix: str) -> None:
        for route in items:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, Mount):
                out.add(("GET", prefix + route.path + "/{path}"))
            elif isinstance(route, APIRoute | Route):
                out.update((m, prefix + route.path) for m in route.methods or () if m != "HEAD")

    walk(app.routes, "")
    return out


def _fill(value: Any, f_: Family) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, f_) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, f_) for v in value]
    return {"{target}": f_.bea, "{other}": f_.world.zed}.get(value, value) \
        if isinstance(value, str) else value


def _url(method: str, path: str, f_: Family, member: int) -> str:
    w = f_.world
    token = {"/p/": "preferences", "/u/": "unsubscribe", "/s/": "survey",
             "/t/": "testimonial"}.get(path[:3], "preferences")
    url = (path.replace("{member_id}", str(member))
           .replace("{order_id}", str(f_.bea_order))
           .replace("{subscription_id}", str(f_.bea_sub))
           .replace("{touch_id}", str(f_.bea_task)).replace("{run_id}", str(f_.run))
           .replace("{testimonial_id}", str(f_.bea_story)).replace("{simulation_id}", "1")
           .replace("{period}", "2026-10").replace("{sku}", "TEA").replace("{action}", "skip")
           .replace("{key}", "not-a-reset-key").replace("{year}", "2026")
           .replace("{token}", w.token(token, f_.bea))
           .replace("{code}", f_.ben_code))
    if path == "/static/{path}":
        url = "/static/style.css"
    elif path == "/docs/assets/{path}":
        url = "/docs/assets/swagger-ui.css"
    api_path = path.removeprefix(API)
    if method == "GET" and path.startswith(API) and api_path in LIST_FILTERS:
        url += "?" + LIST_FILTERS[api_path].format(target=f_.bea, owner=f_.ben)
    return url


def _spare(engine: Engine, f_: Family, n: int) -> int:
    with transaction(engine) as s:
        return f.customer(s, f_.ben, f"Spare{n}", joined_at=NOW)


#: Viewers for whom Bea is someone else's customer, and the signed personal links (whose page
#: is about the person the link was made for, whoever opens it).
STRANGERS = ("upline", "other_distributor", "other_customer")
LINKS = ("/p/", "/u/", "/s/", "/t/")
HIDDEN = re.compile(r"\bBea\b|Bea's story|Call Bea")


def outcome(response: Any, method: str, path: str) -> str:
    """The class of an answer (see the module's docstring); ``?`` for anything else."""
    status, location = response.status_code, response.headers.get("location", "")
    if status == 303 and location.startswith("/login?next="):
        return "L"
    if status == 401 and path.startswith(API):
        return "U" if response.headers["content-type"] == "application/problem+json" else "?"
    if status in (403, 404):
        return "D" if not HIDDEN.search(response.text) else "?"
    if status == 200 and method == "GET" and path.startswith(API) and \
            path.removeprefix(API) in LIST_FILTERS and path != f"{API}/products":
        body = response.json()
        return "E" if (body["items"] if isinstance(body, dict) else body) == [] else "A"
    if status < 400 or status in (400, 409, 413, 422):
        return "A"
    return "?"


def run_matrix(engine: Engine) -> dict[tuple[str, str], str]:
    """Call every route as every viewer (route by route, each viewer in turn, so that what a
    viewer's change does is seen by the next viewer of the same route only); the observed
    outcome strings."""
    f_ = family(engine)
    app = app_for(engine)
    clients: dict[str, tuple[TestClient, str]] = {}
    for viewer in VIEWERS:
        client = TestClient(app, raise_server_exceptions=False)
        if viewer != "anonymous":
            assert sign_in(client, SIGN_INS[viewer]).status_code == 303, viewer
        csrf = csrf_of(client.get("/account" if viewer != "anonymous" else "/login").text)
        clients[viewer] = client, csrf
    table = sorted(routes(app), key=lambda r: (r == ("POST", "/logout"), r[1], r[0]))
    observed = {r: "" for r in table}
    spares = 0
    for method, path in table:
        for viewer in VIEWERS:
            client, csrf = clients[viewer]
            member = f_.ben if path.startswith(ABOUT_THE_OWNER) else f_.bea
            if (method, path) in SPARE_ROUTES and viewer != "own_customer":
                spares += 1
                member = _spare(engine, f_, spares)
            url = _url(method, path, f_, member)
            if method == "GET":
                r = client.get(url, follow_redirects=False)
            elif path.startswith(API):
                body = BODIES.get((method.lower(), path.removeprefix(API)), {})
                r = client.request(method, url, json=_fill(body, f_),
                                   headers={"X-CSRF-Token": csrf}, follow_redirects=False)
            else:
                r = client.request(method, url, data={"csrf_token": csrf},
                                   follow_redirects=False)
            got = outcome(r, method, path)
            if got == "A" and viewer in STRANGERS and not path.startswith(LINKS) and \
                    HIDDEN.search(r.text):
                got = "?"  # allowed, but it named someone the viewer may not see
            observed[(method, path)] += got
    return observed


def test_every_route_is_in_the_matrix(engine: Engine) -> None:
    assert routes(app_for(engine)) == set(MATRIX)
    assert all(re.fullmatch(r"[AEDLU]{7}", v) for v in MATRIX.values())


def test_every_route_answers_every_viewer_as_the_matrix_says(engine: Engine) -> None:
    observed = run_matrix(engine)
    wrong = {route: (MATRIX.get(route), got) for route, got in observed.items()
             if MATRIX.get(route) != got}
    assert wrong == {}, "\n".join(f"{m} {p}: expected {e} got {g}"
                                  for (m, p), (e, g) in sorted(wrong.items()))


def test_the_family_is_what_the_matrix_assumes(engine: Engine) -> None:
    """Ann is Ben's upline, Bea is Ben's customer, Zoe is Zed's."""
    f_ = family(engine)
    with transaction(engine) as s:
        ben, bea, zoe = (s.get(Member, m) for m in (f_.ben, f_.bea, f_.world.zoe))
        assert ben is not None and bea is not None and zoe is not None
        assert ben.sponsor_id == f_.world.ann and bea.owner_id == f_.ben
        assert zoe.owner_id == f_.world.zed


def test_a_customer_cannot_close_the_task_about_them(engine: Engine) -> None:
    """Tasks are the distributor's, internal: to the customer they are about, none exists (the
    matrix found that a customer's sign-in could mark one done)."""
    f_ = family(engine)
    bea = TestClient(app_for(engine))
    assert sign_in(bea, SIGN_INS["own_customer"]).status_code == 303
    csrf = csrf_of(bea.get("/account").text)
    r = bea.post(f"{API}/care/tasks/{f_.bea_task}/done", headers={"X-CSRF-Token": csrf})
    assert (r.status_code, r.json()["detail"]) == (404, f"task {f_.bea_task} does not exist")
    with transaction(engine) as s:
        touch = s.get(Touch, f_.bea_task)
        assert touch is not None and touch.status == "planned"
