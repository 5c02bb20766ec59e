"""Staff pages opened from the searches: member search by phone and name, a distributor's page
(rank, volumes, commissions, downline), orders with buyer names and an order page, a committed
run with its payees and lines, and the dashboard's figures. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update

from patronage.clock import Period
from patronage.compensation.runs import commit_period
from patronage.compensation.totals import earned_in, sum_run
from patronage.db.compensation import CommissionRun, PayoutLine, RunBonusTotal, RunPayee
from patronage.db.engine import transaction
from patronage.db.figures import CompanyFigures
from patronage.db.tables import Member, Order
from patronage.web.views.figures import count_figures, latest_figures
from patronage.web.views.staff import dashboard, phone_keys
from tests.e2e.world import EMAILS, NOW, World, app_for, seed, sign_in

pytestmark = pytest.mark.storage


@pytest.fixture
def staff(engine: Engine) -> tuple[TestClient, World]:
    world = seed(engine)
    with transaction(engine) as s:
        s.execute(update(Member).where(Member.id == world.zoe).values(
            phone="+13125550123", last_name="Quill"))
        s.execute(update(Member).where(Member.id == world.cleo).values(
            phone="5550109999", last_name="Marsh"))
    client = TestClient(app_for(engine))
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    return client, world


def _rows(html: str) -> str:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert body
    return re.sub(r"<[^>]+>", " ", body.group(1))


def test_phone_keys_give_e164_and_digits() -> None:
    assert phone_keys("(312) 555-0123", "US") == ["+13125550123", "3125550123",
                                                   "(312) 555-0123"]
    assert phone_keys("+44 20 7946 0958", "US")[0] == "+442079460958"
    assert phone_keys("Cory", "US") == [] and phone_keys("12-34", "US") == []


@pytest.mark.parametrize("typed", ["(312) 555-0123", "+1 312 555 0123", "312.555.0123",
                                   "3125550123"])
def test_find_a_member_by_phone_as_typed(staff: tuple[TestClient, World], typed: str) -> None:
    client, _ = staff
    rows = _rows(client.get("/company/members", params={"q": typed}).text)
    assert "Zoe Quill" in rows and "Cory" not in rows


def test_a_phone_stored_as_digits_is_found_too(staff: tuple[TestClient, World]) -> None:
    client, _ = staff
    rows = _rows(client.get("/company/members", params={"q": "+1 (555) 010-9999"}).text)
    assert "Cleo Marsh" in rows and "Zoe" not in rows


def test_find_by_last_name_and_by_full_name(staff: tuple[TestClient, World]) -> None:
    client, _ = staff
    assert "Zoe Quill" in _rows(client.get("/company/members?q=qui").text)
    full = _rows(client.get("/company/members", params={"q": "cleo ma"}).text)
    assert "Cleo Marsh" in full and "Zoe" not in full
    assert "No member found" in client.get("/company/members", params={"q": "zoe ma"}).text


def _commit(engine: Engine) -> int:
    run_id = commit_period(engine, Period(2026, 9), None, now=NOW, actor="test",
                           company_zone="UTC")
    return int(run_id)


def test_a_distributors_page_shows_rank_volumes_commissions_and_downline(
        engine: Engine, staff: tuple[TestClient, World]) -> None:
    client, w = staff
    run_id = _commit(engine)
    page = client.get(f"/company/members/{w.ann}").text
    assert "Paid as" in page and "2026-09" in page
    assert 'href="/company/members/' + str(w.ben) + '">Ben' in page  # downline, by name
    with transaction(engine) as s:
        earned = sum(p.amount for p in s.scalars(select(PayoutLine).where(
            PayoutLine.run_id == run_id, PayoutLine.earner_id == w.ann)))
    assert earned > 0
    assert f"${earned / 100:,.2f}" in page
    assert "<abbr" in page and "PV" in page
    customer = client.get(f"/company/members/{w.cory}").text
    assert "Served by" in customer and "Ann" in customer and "Paid as" not in customer
    assert client.get("/company/members/999999").status_code == 404


def test_orders_show_buyer_names_and_open_an_order_page(engine: Engine,
                                                        staff: tuple[TestClient, World]) -> None:
    client, w = staff
    listing = client.get("/company/orders").text
    assert "Cory" in listing and "Zoe Quill" in listing and f">#{w.cory}<" not in listing
    with transaction(engine) as s:
        order_id = s.scalar(select(Order.id).where(Order.buyer_id == w.cory))
    assert f'href="/company/orders/{order_id}"' in listing
    page = client.get(f"/company/orders/{order_id}").text
    assert "2 × Daily shake" in page and "Cory" in page and "$120.00" in page
    assert "one-time order" in page and "one_time" not in page
    assert client.get("/company/orders/999999").status_code == 404


def test_a_committed_run_opens_to_its_payees_and_lines(engine: Engine,
                                                       staff: tuple[TestClient, World]) -> None:
    client, w = staff
    run_id = _commit(engine)
    runs = client.get("/company/runs").text
    assert f'href="/company/runs/{run_id}"' in runs
    page = client.get(f"/company/runs/{run_id}").text
    with transaction(engine) as s:
        run = s.get(CommissionRun, run_id)
        assert run is not None
        earners = set(s.scalars(select(PayoutLine.earner_id).where(PayoutLine.run_id == run_id)))
        names = {m.id: m.name for m in s.scalars(select(Member).where(Member.id.in_(earners)))}
    assert re.search(r'class="payee-count">' + str(len(earners)) + "<", page)
    for member_id, name in names.items():
        assert f"?payee={member_id}#lines\">{name}</a>" in page
    lines = client.get(f"/company/runs/{run_id}?payee={w.ann}").text
    assert "Lines paid to Ann" in lines and "<td" in lines.split("Lines paid to Ann", 1)[1]
    assert client.get(f"/company/runs/{run_id}?payee={w.zoe}").status_code == 404
    assert client.get("/company/runs/999999").status_code == 404


def test_dashboard_counts_sales_by_week_and_the_volume_mix(engine: Engine,
                                                          staff: tuple[TestClient, World]) -> None:
    client, _ = staff
    late = datetime(2026, 10, 31, tzinfo=UTC)
    with transaction(engine) as s:
        board = dashboard(s, late)
    # Seven orders of 2 × 60.00 (retail customers) or 2 × 45.00 (others) on Sep 3–9.
    assert sum(board.orders) == 7 and board.weeks[-1] == "2026-10-26"
    assert sum(board.sales["USD"]) == 3 * 12000 + 4 * 9000
    assert sum(board.consumption) + sum(board.promotional) == \
        sum(board.customer) + sum(board.distributor) == 7 * 2 * 3600
    assert sum(board.customer) == 4 * 2 * 3600  # Cory, Cleo, Bea and Zoe
    _commit(engine)
    page = client.get("/company").text
    assert "Sales by week" in page and "Commissions as a share of CV" in page
    assert "2026-09" in page and "Autoship retention" in page and "<abbr" in page


def test_a_runs_payee_and_bonus_totals_equal_its_lines_summed(
        engine: Engine, staff: tuple[TestClient, World]) -> None:
    client, _ = staff
    run_id = _commit(engine)
    paid = func.coalesce(PayoutLine.paid_amount, PayoutLine.amount)
    with transaction(engine) as s:
        # written with the run: remove them to see a run committed before them summed
        s.execute(delete(RunPayee))
        s.execute(delete(RunBonusTotal))
        by_earner = {(int(e), int(n), int(a)) for e, n, a in s.execute(
            select(PayoutLine.earner_id, func.count(), func.sum(paid))
            .where(PayoutLine.run_id == run_id).group_by(PayoutLine.earner_id))}
        by_bonus = {(str(b), int(n), int(a)) for b, n, a in s.execute(
            select(PayoutLine.bonus, func.count(), func.sum(paid))
            .where(PayoutLine.run_id == run_id).group_by(PayoutLine.bonus))}
    assert by_earner and by_bonus
    assert client.get(f"/company/runs/{run_id}").status_code == 200
    for _ in range(2):  # summed once, then read: the same rows
        with transaction(engine) as s:
            sum_run(s, run_id)
            assert {(r.earner_id, r.lines, r.amount) for r in s.scalars(
                select(RunPayee).where(RunPayee.run_id == run_id))} == by_earner
            assert {(r.bonus, r.lines, r.amount) for r in s.scalars(
                select(RunBonusTotal).where(RunBonusTotal.run_id == run_id))} == by_bonus
            for earner, _n, amount in by_earner:
                currency = s.scalar(select(func.max(PayoutLine.currency)).where(
                    PayoutLine.run_id == run_id, PayoutLine.earner_id == earner))
                assert earned_in(s, earner, [run_id]) == {run_id: (amount, currency)}


def test_the_dashboard_shows_its_last_count_and_when_it_was_counted(
        engine: Engine, staff: tuple[TestClient, World]) -> None:
    client, w = staff
    late = datetime(2026, 10, 31, tzinfo=UTC)
    counted = count_figures(engine, late)
    with transaction(engine) as s:
        assert counted.board == dashboard(s, late)
        stored = latest_figures(s)
    assert stored is not None and stored.board == counted.board
    assert stored.cohorts == counted.cohorts and stored.ahead == counted.ahead
    assert stored.autoships == counted.autoships and stored.counted_at == late
    page = client.get("/company").text
    assert "Figures as counted at" in page and "Oct 31, 2026" in page
    with transaction(engine) as s:  # a new member: the page shows the count until the next
        s.add(Member(kind="retail", first_name="New", last_name="Comer",
                     joined_at=late, status="active", owner_id=w.ann))
    kinds = dict(counted.board.kinds)
    assert client.get("/company").text == page
    later = count_figures(engine, datetime(2026, 11, 1, tzinfo=UTC))
    assert later.board.kinds == {**kinds, "retail": kinds.get("retail", 0) + 1}
    count_figures(engine, datetime(2026, 11, 2, tzinfo=UTC))
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CompanyFigures)) == 2
