"""Money at risk: PV still needed this period to stay active, what it paid last period, and what
keeping last period's rank takes; on Today and My business, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.clock import Period
from patronage.compensation.reports import hold_card, load_run
from patronage.compensation.runs import commit_period
from patronage.compensation.standing import active_standing
from patronage.db.compensation import PayoutLine
from patronage.db.engine import transaction
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.e2e.world import NOW, app_for, seed, sign_in

pytestmark = pytest.mark.storage
SEPT, OCT = Period(2026, 9), Period(2026, 10)


def _committed(engine: Engine) -> tuple[object, int]:
    w = seed(engine)
    commit_period(engine, SEPT, None, now=NOW, actor="test", company_zone="UTC")
    with transaction(engine) as s:
        paid = s.scalar(select(func.sum(func.coalesce(PayoutLine.paid_amount,
                                                      PayoutLine.amount)))
                        .where(PayoutLine.earner_id == w.ann)) or 0
    return w, int(paid)


def test_short_of_active_pv_after_an_active_month_is_money_at_risk(engine: Engine) -> None:
    w, paid = _committed(engine)
    assert paid > 0
    with transaction(engine) as s:
        st = active_standing(s, w.ann, NOW, company_zone="UTC")  # type: ignore[attr-defined]
    assert st is not None
    assert (st.period, st.pv, st.need, st.short, st.last_period) == ("2026-10", 0, 10_000,
                                                                     10_000, "2026-09")
    assert (st.last_earned, st.was_active, st.at_risk) == (paid, True, True)
    assert str(st.last_day) == "2026-10-31" and st.last_paid_as >= 0
    with transaction(engine) as s:  # her own order and her customer's count toward PV
        for i, buyer in enumerate((w.ann, w.cory)):  # type: ignore[attr-defined]
            place_order(s, NewOrder(buyer, datetime(2026, 10, 10, tzinfo=UTC),
                                    [LineRequest("SHAKE", 1)], idempotency_key=f"oct-{i}"),
                        now=NOW)
    with transaction(engine) as s:
        st = active_standing(s, w.ann, NOW, company_zone="UTC")  # type: ignore[attr-defined]
    assert st is not None and (st.pv, st.short, st.at_risk) == (8_000, 2_000, True)


def test_keeping_last_months_rank_lists_what_is_missing(engine: Engine) -> None:
    w, _paid = _committed(engine)
    with transaction(engine) as s:
        st = active_standing(s, w.ann, NOW, company_zone="UTC")  # type: ignore[attr-defined]
    assert st is not None
    run = load_run(engine, OCT, company_zone="UTC")
    card = hold_card(run, w.ann, OCT, st.last_paid_as)  # type: ignore[attr-defined]
    assert card is not None and card.rank == "Consultant"
    names = [r.name for r in card.missing]
    assert "personal volume (PV)" in names and "active status (PV)" in names
    assert hold_card(run, w.ann, OCT, -1) is None  # type: ignore[attr-defined]


def test_today_and_business_say_it_first(engine: Engine) -> None:
    w, paid = _committed(engine)
    client = TestClient(app_for(engine))
    assert sign_in(client, "ann@example.com").status_code == 303
    for path in ("/today", "/business"):
        page = client.get(path).text
        assert 'id="money-at-risk"' in page, path
        assert "100.00 PV more by Oct 31 to stay active" in page, path
        assert f"last month this paid you ${paid / 100:,.2f}" in page, path
        assert page.index("money-at-risk") < page.index("</h1>") + 200, path
    fragment = client.get("/business/projection").text
    assert "To keep Consultant, the rank you were paid as last month" in fragment
    # once her PV reaches the minimum, nothing is at risk any more
    with transaction(engine) as s:
        place_order(s, NewOrder(w.ann, datetime(2026, 10, 12, tzinfo=UTC),  # type: ignore[attr-defined]
                                [LineRequest("SHAKE", 3)], idempotency_key="oct-3"), now=NOW)
    assert 'id="money-at-risk"' not in client.get("/today").text


@pytest.mark.parametrize("many", [10**9, 0])
def test_customers_refunds_count_against_pv_either_way_they_are_read(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, many: int) -> None:
    """A distributor with few customers has their refunds read through their orders, one
    with many through the period's refunds: the same PV."""
    from patronage.compensation import standing
    from patronage.orders.refunds import RefundRequest, refund_order

    monkeypatch.setattr(standing, "MANY_CUSTOMERS", many)
    w, _paid = _committed(engine)
    with transaction(engine) as s:
        orders = [place_order(s, NewOrder(buyer, datetime(2026, 10, 10, tzinfo=UTC),
                                          [LineRequest("SHAKE", 1)],
                                          idempotency_key=f"oct-{i}"), now=NOW)
                  for i, buyer in enumerate((w.ann, w.cory))]  # type: ignore[attr-defined]
    with transaction(engine) as s:
        before = active_standing(s, w.ann, NOW, company_zone="UTC")  # type: ignore[attr-defined]
        refund_order(s, RefundRequest(orders[1].order.id, datetime(2026, 10, 12, tzinfo=UTC),
                                      "changed her mind"), now=NOW)
    with transaction(engine) as s:
        after = active_standing(s, w.ann, NOW, company_zone="UTC")  # type: ignore[attr-defined]
    assert before is not None and after is not None
    assert before.pv == 8_000 and 0 < after.pv < before.pv
