"""Buy-back at 90% and cooling-off cancellations, on both databases: the money refunded, the
volume taken back whole, and the commissions paid on the orders clawed back by the next run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from patronage.compensation.runs import commit_period, preview_period
from patronage.compliance.buyback import (
    BUY_BACK,
    COOLING_OFF,
    ReturnRules,
    buy_back,
    cool_off,
    recent_buy_backs,
)
from patronage.db.engine import transaction
from patronage.db.tables import Member, Refund
from patronage.errors import PatronageError
from patronage.markets.markets import NewMarket, add_market, place_in_market
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import distributor
from tests.integration.test_commission_runs import NOV, OCT, PLAN

pytestmark = pytest.mark.storage

JAN = datetime(2026, 1, 1, tzinfo=UTC)
OCT_20, OCT_28 = datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)
NOV_2, NOV_5 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
RULES = ReturnRules(share_bp=9000, window_days=365, cooling_off_days=14)


def _company(engine: Engine) -> dict[str, int]:
    """Tia sponsors Eli and Nia. Eli buys three shakes (100.00 each, CV 100.00) on October 20;
    Nia joins on October 28 and buys a pack (250.00, CV 250.00). Unilevel pays Tia 10% of
    Eli's 300.00 (30.00); fast start pays Tia 20% of Nia's pack (50.00)."""
    with transaction(engine) as s:
        add_product(s, NewProduct("PACK", "Pack", 25000, 25000, 25000, 25000,
                                  is_enrollment_pack=True))
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        tia = distributor(s, "Tia", joined_at=JAN)
        eli = distributor(s, "Eli", sponsor=tia, joined_at=JAN)
        nia = distributor(s, "Nia", sponsor=tia, joined_at=OCT_28)
        place_order(s, NewOrder(tia, OCT_20, [LineRequest("SHAKE")]), now=OCT_20)
        shakes = place_order(s, NewOrder(eli, OCT_20, [LineRequest("SHAKE", 3)]), now=OCT_20)
        pack = place_order(s, NewOrder(nia, OCT_28, [LineRequest("PACK")], source="enrollment"),
                           now=OCT_28)
    commit_period(engine, OCT, PLAN, now=NOV_2, actor="test")
    return {"tia": tia, "eli": eli, "nia": nia, "shakes": shakes.order.id,
            "pack": pack.order.id}


def test_a_buy_back_refunds_90_percent_and_claws_back_the_commissions(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s, pytest.raises(PatronageError,
                                                 match=r"bought by member .* not by member"):
        buy_back(s, ids["tia"], ids["shakes"], now=NOV_5, rules=RULES, key="k0")
    with transaction(engine) as s:
        done = buy_back(s, ids["eli"], ids["shakes"], now=NOV_5, rules=RULES, key="k1",
                        note="sealed boxes")
        assert (done.kind, done.amount, done.share_bp) == (BUY_BACK, 27000, 9000)
    with transaction(engine) as s:  # the same request again records nothing new
        again = buy_back(s, ids["eli"], ids["shakes"], now=NOV_5, rules=RULES, key="k1")
        assert again.id == done.id
        assert s.scalar(select(Refund.total).where(Refund.id == done.refund_id)) == 27000
        count, rows = recent_buy_backs(s)
        assert count == 1 and rows[0].name == "Eli" and rows[0].amount == 27000
    nov = preview_period(engine, NOV, PLAN)
    claws = {(c.earner_id, c.bonus, c.amount) for c in nov.clawbacks}
    assert claws == {(ids["tia"], "unilevel", -3000)}


def test_a_buy_back_outside_the_window_is_refused(engine: Engine) -> None:
    ids = _company(engine)
    short = ReturnRules(share_bp=9000, window_days=10, cooling_off_days=14)
    with transaction(engine) as s, pytest.raises(PatronageError, match="more than 10 days ago"):
        buy_back(s, ids["eli"], ids["shakes"], now=datetime(2026, 11, 25, tzinfo=UTC),
                 rules=short, key="late")


def test_a_cooling_off_cancellation_refunds_everything_and_terminates(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s, pytest.raises(PatronageError, match="more than 14 days ago"):
        cool_off(s, ids["eli"], now=NOV_5, rules=RULES, key="c0")
    with transaction(engine) as s:
        done = cool_off(s, ids["nia"], now=NOV_5, rules=RULES, key="c1")
        assert [(d.kind, d.order_id, d.amount) for d in done] == [
            (COOLING_OFF, ids["pack"], 25000)]
        nia = s.get(Member, ids["nia"])
        assert nia is not None and nia.status == "terminated" and nia.deactivated_at is not None
    with transaction(engine) as s:
        assert [d.id for d in cool_off(s, ids["nia"], now=NOV_5, rules=RULES, key="c1")] == \
            [d.id for d in done]
    nov = preview_period(engine, NOV, PLAN)
    claws = {(c.earner_id, c.bonus, c.amount) for c in nov.clawbacks}
    assert claws == {(ids["tia"], "fast_start", -5000)}


def test_the_cooling_off_days_are_the_markets_law_when_longer(engine: Engine) -> None:
    """Eli joined ten months ago: past the company's 14 days, but a market whose law gives a
    year keeps the cancellation open for him."""
    ids = _company(engine)
    with transaction(engine) as s:
        add_market(s, NewMarket("MX", "Mexico", "MXN", ["es-MX"], "America/Mexico_City",
                                cooling_off_days=365))
        place_in_market(s, ids["eli"], "MX")
    with transaction(engine) as s:
        done = cool_off(s, ids["eli"], now=NOV_5, rules=RULES, key="law")
        assert [(d.kind, d.order_id) for d in done] == [(COOLING_OFF, ids["shakes"])]


def test_staff_record_a_buy_back_on_the_compliance_page(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from patronage.clock import FixedClock
    from patronage.web.accounts import create_account
    from tests.e2e.world import PASSWORD, app_for, csrf_of, sign_in

    ids = _company(engine)
    with transaction(engine) as s:
        create_account(s, email="staff@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=NOV_5)
    with TestClient(app_for(engine, FixedClock(NOV_5))) as staff:
        assert sign_in(staff, "staff@example.com").status_code == 303
        page = staff.get("/company/compliance")
        assert "taken back at 90.0% of the net price" in page.text
        form = {"csrf_token": csrf_of(page.text), "member_id": str(ids["eli"]),
                "kind": "buy_back", "order_id": str(ids["shakes"]), "request_key": "r1",
                "note": "unopened"}
        done = staff.post("/company/compliance/buy-backs", data=form, follow_redirects=False)
        assert done.status_code == 303, done.text
        assert staff.post("/company/compliance/buy-backs", data=form,
                          follow_redirects=False).status_code == 303
        page = staff.get("/company/compliance")
        assert "Buy-back at 90.0%" in page.text and "1 in all." in page.text
        bad = staff.post("/company/compliance/buy-backs", data={
            **form, "request_key": "r2", "member_id": str(ids["tia"])})
        assert bad.status_code == 400 and "not by member" in bad.text
