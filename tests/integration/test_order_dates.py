"""Orders and refunds are dated in the open period and not in the future: through the service,
the REST API, the CSV import (CLI and web) and the autoship run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from patronage.autoship.core.schedule import Frequency
from patronage.autoship.gateway import SimulatedGateway
from patronage.autoship.run import run_day
from patronage.autoship.subscriptions import Item, subscribe
from patronage.cli.main import app
from patronage.clock import FixedClock, Period
from patronage.compensation.runs import commit_period
from patronage.db.autoship import ChargeAttempt
from patronage.db.engine import transaction
from patronage.db.tables import Order, Refund
from patronage.errors import Conflict, PatronageError, Problems
from patronage.orders.csv_import import import_members, import_orders, import_products
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from tests.e2e.world import EMAILS, csrf_of, seed, sign_in
from tests.e2e.world import app_for as web_app_for
from tests.factories import catalog, customer, distributor
from tests.integration.test_api_support import API, acting_as, app_for, company
from tests.integration.test_commission_runs import MID_NOV, MID_OCT, OCT, PLAN, _company
from tests.integration.test_csv_import import MEMBERS, PRODUCTS
from tests.web_jobs import finished

# America/Chicago (the company's zone): November 2026 starts at 2026-11-01 05:00 UTC.
NOV_STARTS = datetime(2026, 11, 1, 5, tzinfo=UTC)


def _orders(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def _committed_october(engine: Engine) -> dict[str, int]:
    ids = _company(engine)
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    return ids


def test_an_order_is_dated_in_the_open_period_and_not_in_the_future(engine: Engine) -> None:
    ids = _committed_october(engine)
    before = _orders(engine)

    def order(at: datetime, key: str) -> None:
        with transaction(engine) as s:
            place_order(s, NewOrder(ids["top"], at, [LineRequest("SHAKE")], idempotency_key=key),
                        now=MID_NOV)

    with pytest.raises(PatronageError, match=(
            r"order 'late': placed_at 2026-10-31T12:00:00\+00:00 is in period 2026-10, which "
            r"is committed; orders are dated from 2026-11-01 00:00 America/Chicago on")):
        order(datetime(2026, 10, 31, 12, tzinfo=UTC), "late")
    with pytest.raises(PatronageError, match=(
            r"order 'ahead': placed_at 2026-11-15T12:06:00\+00:00 is in the future \(now is "
            r"2026-11-15T12:00:00\+00:00; at most 5 minutes ahead is accepted\)")):
        order(MID_NOV + timedelta(minutes=6), "ahead")
    with pytest.raises(PatronageError, match=r"order 'far': placed_at 2099-01-01.* future"):
        order(datetime(2099, 1, 1, tzinfo=UTC), "far")
    assert _orders(engine) == before
    order(NOV_STARTS, "first-instant")
    order(MID_NOV + timedelta(minutes=4), "clock-a-little-ahead")
    assert _orders(engine) == before + 2


def test_history_goes_back_to_2000_while_nothing_is_committed(engine: Engine) -> None:
    now = datetime(2026, 10, 15, tzinfo=UTC)
    with transaction(engine) as s:
        catalog(s)
        buyer = distributor(s)
        # 2000-01-01 00:00 in Chicago is 06:00 UTC.
        place_order(s, NewOrder(buyer, datetime(2000, 1, 1, 6, tzinfo=UTC),
                                [LineRequest("TEA")]), now=now)
        with pytest.raises(PatronageError, match=(
                r"order of buyer \d+: placed_at 1999-12-31T12:00:00\+00:00 is before "
                r"2000-01-01 00:00 America/Chicago, the earliest date an order may have")):
            place_order(s, NewOrder(buyer, datetime(1999, 12, 31, 12, tzinfo=UTC),
                                    [LineRequest("TEA")]), now=now)


def test_a_refund_is_dated_in_the_open_period(engine: Engine) -> None:
    ids = _committed_october(engine)
    with transaction(engine) as s, pytest.raises(PatronageError, match=(
            r"refund of order \d+: refunded_at 2026-10-31T12:00:00\+00:00 is in period "
            r"2026-10, which is committed")):
        refund_order(s, RefundRequest(ids["order"], datetime(2026, 10, 31, 12, tzinfo=UTC),
                                      "returned"), now=MID_NOV)
    with transaction(engine) as s, pytest.raises(PatronageError, match=r"is in the future"):
        refund_order(s, RefundRequest(ids["order"], MID_NOV + timedelta(days=1), "returned"),
                     now=MID_NOV)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Refund)) == 0
        refund_order(s, RefundRequest(ids["order"], MID_NOV, "returned"), now=MID_NOV)
        assert s.scalar(select(func.count()).select_from(Refund)) == 1


def test_the_api_refuses_orders_and_refunds_dated_outside_the_open_period(
        engine: Engine) -> None:
    c = company(engine)  # two orders on 2026-10-15
    client = acting_as(app_for(engine, FixedClock(MID_NOV)), c.staff())
    assert client.post(f"{API}/commissions/2026-10/commit").status_code == 200
    before = _orders(engine)
    for placed_at, reason in (
            ("2026-10-20T09:00:00Z", "is in period 2026-10, which is committed"),
            ("2099-01-01T00:00:00Z", "is in the future"),
            ("2000-01-01T00:00:00Z", "is in period 1999-12, before 2026-10, the last committed "
                                     "period")):
        r = client.post(f"{API}/orders", json={
            "buyer_id": c.top_customer, "lines": [{"sku": "TEA"}], "placed_at": placed_at,
            "idempotency_key": f"at-{placed_at}"})
        assert r.status_code == 422, r.text
        assert reason in r.json()["detail"] and "placed_at" in r.json()["detail"]
    assert _orders(engine) == before
    r = client.post(f"{API}/orders", json={"buyer_id": c.top_customer,
                                           "lines": [{"sku": "TEA"}]})
    assert r.status_code == 201, r.text  # dated now, in the open period
    late = client.post(f"{API}/orders/{c.mid_customer_order}/refunds",
                       json={"reason": "late", "refunded_at": "2026-10-30T09:00:00Z"})
    assert late.status_code == 422 and "which is committed" in late.json()["detail"]
    now = client.post(f"{API}/orders/{c.mid_customer_order}/refunds", json={"reason": "returned"})
    assert now.status_code == 201, now.text


ORDERS = ("order_key,buyer_ref,placed_at,source,sku,quantity\n"
          "A1,C1,2026-03-02T09:00:00Z,retail,SHAKE,2\n"
          "A2,C1,2026-02-20T09:00:00Z,retail,SHAKE,1\n"
          "A3,D2,2099-03-03T09:00:00Z,enrollment,PACK,1\n"
          "A4,D2,1999-03-03T09:00:00Z,enrollment,PACK,1\n")


def _march_committed(engine: Engine) -> None:
    import_products(engine, PRODUCTS)
    import_members(engine, MEMBERS)
    import_orders(engine, "order_key,buyer_ref,placed_at,sku,quantity\n"
                          "A0,C1,2026-02-10T09:00:00Z,SHAKE,1\n", now=MID_OCT)
    commit_period(engine, Period(2026, 2), PLAN, now=MID_OCT, actor="test")


def test_the_csv_import_names_every_order_dated_outside_the_open_period(engine: Engine) -> None:
    _march_committed(engine)
    with pytest.raises(Problems) as caught:
        import_orders(engine, ORDERS, now=MID_OCT)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "line 3, column placed_at: 2026-02-20T09:00:00+00:00 is in period 2026-02, which is "
        "committed; orders are dated from 2026-03-01 00:00 America/Chicago on",
        "line 4, column placed_at: 2099-03-03T09:00:00+00:00 is in the future (now is "
        "2026-10-15T12:00:00+00:00; at most 5 minutes ahead is accepted)",
        "line 5, column placed_at: 1999-03-03T09:00:00+00:00 is in period 1999-03, before "
        "2026-02, the last committed period; orders are dated from 2026-03-01 00:00 "
        "America/Chicago on",
    ]
    assert _orders(engine) == 1


def test_the_cli_import_refuses_late_orders(engine: Engine, db_url: str,
                                           tmp_path: Path) -> None:
    _march_committed(engine)
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    r = CliRunner().invoke(app, ["--db", db_url, "import", "orders", str(path),
                                 "--now", MID_OCT.isoformat()])
    assert r.exit_code == 1
    assert "line 3, column placed_at: 2026-02-20T09:00:00+00:00 is in period 2026-02" in r.output
    assert _orders(engine) == 1


def test_the_web_import_refuses_late_orders(engine: Engine) -> None:
    seed(engine)  # orders in September 2026; the web clock says 2026-10-15
    commit_period(engine, Period(2026, 9), None, now=MID_OCT, actor="test")
    client = TestClient(web_app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    csrf = csrf_of(client.get("/company").text)
    before = _orders(engine)
    late = ("order_key,buyer_ref,placed_at,sku,quantity\n"
            "W1,NOBODY,2026-09-30T09:00:00Z,SHAKE,1\n")
    r = client.post("/company/imports", data={"csrf_token": csrf, "kind": "orders"},
                    files={"file": ("orders.csv", late, "text/csv")})
    r = finished(client, r)
    assert "line 2, column placed_at" in r.text and "which is committed" in r.text
    assert _orders(engine) == before


def test_the_autoship_run_refuses_to_order_into_a_committed_period(engine: Engine) -> None:
    now = datetime(2026, 3, 28, 8, tzinfo=UTC)
    with transaction(engine) as s:
        catalog(s)
        d = distributor(s)
        c = customer(s, d, kind="preferred", country="US")
        subscribe(s, c, [Item("SHAKE", 1)], Frequency("monthly", day=28),
                  start=date(2026, 3, 28), now=now, actor="customer")
        place_order(s, NewOrder(d, now - timedelta(days=1), [LineRequest("SHAKE")]), now=now)
    commit_period(engine, Period(2026, 3), PLAN, now=datetime(2026, 4, 2, tzinfo=UTC),
                  actor="test")
    gateway = SimulatedGateway(engine, decline_rate=0.0)
    with pytest.raises(Conflict, match=(
            r"autoship run of 2026-03-28: now \(2026-03-28T08:00:00\+00:00\) is in period "
            r"2026-03, which is committed; nothing was charged")):
        run_day(engine, date(2026, 3, 28), gateway, now=now)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ChargeAttempt)) == 0
    assert _orders(engine) == 1
