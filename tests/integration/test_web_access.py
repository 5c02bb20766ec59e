"""Pages and the records of others: reached by id they are *not found* (404), so ids cannot be
probed; an upline never sees a downline distributor's customers. (Every route × every viewer is
the matrix in ``test_route_matrix.py``.)"""

from __future__ import annotations

import html
import json
import re

import pytest
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


def client_for(engine: Engine, role: str) -> TestClient:
    client = TestClient(app_for(engine))
    if role != "anonymous":
        assert sign_in(client, EMAILS[role]).status_code == 303
    return client


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
    assert "retail profit: Bea paid $120.00, wholesale $90.00 → $30.00" in ben.get(
        "/business").text
    assert bea_order
    with transaction(engine) as s:
        move_owner(s, w.bea, w.zed, effective_at=NOW, recorded_at=NOW, actor="test",
                   reason="asked to")
    page = ben.get("/business").text
    assert "Bea" not in page.split("</header>")[1]
    assert ("retail profit: a customer of your team paid $120.00, wholesale $90.00 → $30.00"
            in page)
