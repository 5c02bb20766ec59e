"""Ranks over committed periods: a rank held two periods before it is paid, a grace period,
a rank advancement bonus paid in instalments and forfeited, and a pool, committed month by
month, stored, replayed from the snapshots and explained."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.core.codes import REASON_RANK_NOT_HELD
from patronage.compensation.reports import explain_member
from patronage.compensation.runs import PlanSource, commit_period, rerun_committed
from patronage.db.compensation import PayoutLine, PayoutSkip, RankRecord
from patronage.db.engine import transaction
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.web.views.business import period_history
from tests.factories import distributor

pytestmark = pytest.mark.storage

PLAN = PlanSource.from_text("""
[plan]
name = "ranks over time"
version = "r1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
[[ranks]]
name = "Leader"
min_pv = 200
min_periods = 2
[paid_as]
grace_periods = 1
[bonuses.rank_advancement]
amounts = { "Leader" = 300.01 }
instalments = 4
[bonuses.pool]
[[bonuses.pool.pools]]
name = "Leadership pool"
share_of_cv = 0.0333
min_rank = "Member"
divide = "pv"
""")
MONTHS = [Period(2026, 10), Period(2026, 11), Period(2026, 12), Period(2027, 1),
          Period(2027, 2)]
#: Shakes Tia buys each month: Leader's 200 PV in the first three, then 100 PV.
TIA_SHAKES = [2, 2, 2, 1, 1]


def _mid(p: Period) -> datetime:
    return datetime(p.year, p.month, 15, 12, tzinfo=UTC)


def _commit_months(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        tia = distributor(s, "Tia", joined_at=datetime(2026, 1, 1, tzinfo=UTC))
        eli = distributor(s, "Eli", sponsor=tia, joined_at=datetime(2026, 1, 1, tzinfo=UTC))
    for j, (month, shakes) in enumerate(zip(MONTHS, TIA_SHAKES, strict=True)):
        with transaction(engine) as s:
            place_order(s, NewOrder(tia, _mid(month), [LineRequest("SHAKE", shakes)]),
                        now=_mid(month))
            place_order(s, NewOrder(eli, _mid(month), [LineRequest("SHAKE")]), now=_mid(month))
        after = MONTHS[j + 1] if j + 1 < len(MONTHS) else Period(2027, 3)
        commit_period(engine, month, PLAN, now=_mid(after), actor="test")
    return tia, eli


def test_ranks_over_time_pay_instalments_and_pools_from_committed_periods(
        engine: Engine) -> None:
    tia, eli = _commit_months(engine)
    with transaction(engine) as s:
        ranks = s.execute(select(RankRecord.run_id, RankRecord.qualified, RankRecord.paid_as,
                                 RankRecord.title).where(RankRecord.member_id == tia)
                          .order_by(RankRecord.run_id)).all()
        advancement = s.execute(select(PayoutLine.run_id, PayoutLine.volume, PayoutLine.amount)
                                .where(PayoutLine.earner_id == tia,
                                       PayoutLine.bonus == "rank_advancement")
                                .order_by(PayoutLine.run_id)).all()
        pool = s.execute(select(PayoutLine.earner_id, PayoutLine.amount)
                         .where(PayoutLine.bonus == "pool")
                         .order_by(PayoutLine.run_id, PayoutLine.earner_id)).all()
        forfeited = s.execute(select(PayoutSkip.member_id, PayoutSkip.reason)
                              .where(PayoutSkip.bonus == "rank_advancement")).all()
    # Qualified for Leader in Oct-Dec; paid as Leader from the second month (held two months)
    # and kept in January by the grace period; Member in February.
    assert [(q, p, t) for _, q, p, t in ranks] == [(1, 0, 0), (1, 1, 1), (1, 1, 1), (0, 1, 1),
                                                    (0, 0, 1)]
    run_ids = [r[0] for r in ranks]
    # 300.01 in four: 75.01 in November (first paid as Leader), 75.00 in December and January;
    # the fourth is forfeited in February (not paid as Leader).
    assert [(r, k, a) for r, k, a in advancement] == [
        (run_ids[1], 1, 7501), (run_ids[2], 2, 7500), (run_ids[3], 3, 7500)]
    assert forfeited == [(tia, REASON_RANK_NOT_HELD)]
    # Pool: 3.33% of the month's CV (Tia 200.00 + Eli 100.00 = 300.00: 9.99), by PV 2:1.
    assert pool[:2] == [(tia, 666), (eli, 333)]
    # Jan: CV 200.00, pool 6.66, PV 1:1 -> 3.33 each.
    assert pool[6:8] == [(tia, 333), (eli, 333)]
    for month in MONTHS:
        same, _ = rerun_committed(engine, month)
        assert same, month
    words = "\n".join(explain_member(engine, tia, MONTHS[1]))
    assert ("rank advancement: Leader reached for the first time, instalment 1 of 4 of "
            "300.01 (equal parts, the cents left over in the first) = 75.01") in words
    assert "Leadership pool: 3.33% of the company's CV shared by everyone paid as Member" in words
    feb = "\n".join(explain_member(engine, tia, MONTHS[4]))
    assert "remaining instalments are forfeited" in feb
    # Her business page's periods: January paid as Leader in grace, qualified Member.
    with transaction(engine) as s:
        figures = {f.period: (f.paid_as, f.qualified) for f in period_history(s, tia)}
    assert figures["2027-01"] == ("Leader", "Member")
    assert figures["2026-12"] == ("Leader", "") and figures["2026-10"] == ("Member", "Leader")
