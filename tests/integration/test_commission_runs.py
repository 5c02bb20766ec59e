"""Commission runs in the store: preview, commit, clawbacks, reproducible snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, select

from patronage.clock import Period
from patronage.compensation.reports import explain_member, rank_card
from patronage.compensation.runs import (
    PlanSource,
    commit_period,
    preview_period,
    rerun_committed,
)
from patronage.db.compensation import PayoutLine, RankRecord
from patronage.db.engine import transaction
from patronage.errors import Conflict
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from tests.factories import distributor

PLAN = PlanSource.from_text("""
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
unilevel_depth = 2
[bonuses.fast_start]
rates = [0.20, 0.05]
volume = "cv"
[bonuses.unilevel]
rates = [0.10, 0.05]
""")
OCT, NOV = Period(2026, 10), Period(2026, 11)
MID_OCT = datetime(2026, 10, 15, 12, tzinfo=UTC)
MID_NOV = datetime(2026, 11, 15, 12, tzinfo=UTC)


def _company(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        add_product(s, NewProduct("PACK", "Pack", 25000, 25000, 25000, 25000,
                                  is_enrollment_pack=True))
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        top = distributor(s, "Tia", joined_at=datetime(2026, 1, 1, tzinfo=UTC))
        enroller = distributor(s, "Eli", sponsor=top, joined_at=datetime(2026, 1, 1, tzinfo=UTC))
        new = distributor(s, "Nia", sponsor=enroller, joined_at=MID_OCT)
        for who in (top, enroller):
            place_order(s, NewOrder(who, MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
        first = place_order(s, NewOrder(new, MID_OCT, [LineRequest("PACK")],
                                        source="enrollment"), now=MID_OCT)
    return {"top": top, "enroller": enroller, "new": new, "order": first.order.id}


def test_refund_after_commit_claws_back_at_the_original_rates(engine: Engine) -> None:
    ids = _company(engine)
    run = preview_period(engine, OCT, PLAN)
    by_earner = {(run.member_id(int(e)), int(a)) for e, a in
                 zip(run.result.payouts.earner, run.result.payouts.amount, strict=True)}
    assert (ids["enroller"], 5000) in by_earner  # 20% of a 250.00 first order: $50
    assert (ids["top"], 1250) in by_earner  # 5% to the enroller's sponsor
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        refund_order(s, RefundRequest(ids["order"], MID_NOV, "returned"), now=MID_NOV)
    nov = preview_period(engine, NOV, PLAN)
    claws = {(c.earner_id, c.bonus, c.amount) for c in nov.clawbacks}
    assert claws == {(ids["enroller"], "fast_start", -5000), (ids["top"], "fast_start", -1250)}
    # The refunded volume leaves November; October's ranks stay as they were.
    new_index = int(nov.facts.genealogy.index_of(np.array([ids["new"]]))[0])
    assert int(nov.result.pv[new_index]) == -25000
    with transaction(engine) as s:
        october = s.scalar(select(RankRecord.active).where(RankRecord.member_id == ids["new"]))
    assert october is True
    commit_period(engine, NOV, PLAN, now=datetime(2026, 12, 15, tzinfo=UTC), actor="test")
    with transaction(engine) as s:
        stored = s.scalars(select(PayoutLine).where(PayoutLine.clawback_of.is_not(None))).all()
    assert sorted(line.amount for line in stored) == [-5000, -1250]


def test_commit_twice_and_open_predecessor_are_refused(engine: Engine) -> None:
    _company(engine)
    open_before = r"\(2026-10\) has 3 orders and is still open; commit 2026-10 first"
    with pytest.raises(Conflict, match=open_before):
        preview_period(engine, NOV, PLAN)
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    with pytest.raises(Conflict, match=r"period 2026-10 already committed by run \d+"):
        commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")


def test_period_without_orders_runs_and_pays_nothing(engine: Engine) -> None:
    run = preview_period(engine, Period(2026, 3), PLAN)
    assert run.total_paid == 0 and run.result.payouts.size == 0


def test_committed_snapshot_reproduces_and_explains(engine: Engine) -> None:
    ids = _company(engine)
    commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    same, _ = rerun_committed(engine, OCT)
    assert same
    words = "\n".join(explain_member(engine, ids["enroller"], OCT))
    assert "fast start level 1 from order" in words and "20% of 250.00 = 50.00" in words
    assert "unilevel level 1 from Tia" not in words
    top_words = "\n".join(explain_member(engine, ids["top"], OCT))
    assert "unilevel level 1 from Eli" in top_words and "10% of 100.00 = 10.00" in top_words
    current, target, reqs = rank_card(engine, ids["new"], OCT, PLAN)
    assert (current, target, reqs) == ("Member", None, [])


CUSTOMER_PLAN = PlanSource.from_text("""
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
[bonuses.customer_acquisition]
amount = 10.00
[bonuses.customer_first_order]
rate = 0.20
orders = 1
""")


def test_refunded_first_order_claws_back_the_customer_bonuses(engine: Engine) -> None:
    from patronage.compensation.core.results import BONUSES
    from tests.factories import customer

    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        owner = distributor(s, "Ola", joined_at=datetime(2026, 1, 1, tzinfo=UTC))
        buyer = customer(s, owner, "Cam", joined_at=MID_OCT)
        place_order(s, NewOrder(owner, MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
        first = place_order(s, NewOrder(buyer, MID_OCT, [LineRequest("SHAKE", 2)]),
                            now=MID_OCT)
    run = preview_period(engine, OCT, CUSTOMER_PLAN)
    paid = {(BONUSES[int(b)], int(a)) for b, a in
            zip(run.result.payouts.bonus, run.result.payouts.amount, strict=True)}
    assert paid == {("customer_acquisition", 1000), ("customer_first_order", 4000)}
    commit_period(engine, OCT, CUSTOMER_PLAN, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        refund_order(s, RefundRequest(first.order.id, MID_NOV, "returned"), now=MID_NOV)
    nov = preview_period(engine, NOV, CUSTOMER_PLAN)
    claws = {(c.earner_id, c.bonus, c.amount) for c in nov.clawbacks}
    assert claws == {(owner, "customer_acquisition", -1000),
                     (owner, "customer_first_order", -4000)}


LEADERS_PLAN = PlanSource.from_text("""
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
unilevel_rates = [0.10]
[[ranks]]
name = "Leader"
min_pv = 100
min_active_legs = 1
unilevel_rates = [0.20, 0.05]
[bonuses.unilevel]
[bonuses.matching]
bonuses = ["unilevel"]
rates = { "Leader" = [0.25] }
""")


def test_rates_by_rank_and_matching_are_explained_with_their_formula(engine: Engine) -> None:
    """Tia (Leader: 20%, 5%) → Eli (Leader) → Nia (Member), 100.00 CV each: Eli earns 20% of
    Nia's 100.00 = 20.00; Tia 20% of Eli's and 5% of Nia's, and 25% of Eli's 20.00 matched."""
    ids = _company(engine)
    with transaction(engine) as s:
        place_order(s, NewOrder(ids["new"], MID_OCT, [LineRequest("SHAKE")]), now=MID_OCT)
    run = preview_period(engine, OCT, LEADERS_PLAN)
    assert run.result.payouts.size > 0
    eli = "\n".join(explain_member(engine, ids["enroller"], OCT, LEADERS_PLAN))
    assert "unilevel level 1 from Nia" in eli and "20% of 100.00 = 20.00" in eli, eli
    tia = "\n".join(explain_member(engine, ids["top"], OCT, LEADERS_PLAN))
    assert "unilevel level 2 from Nia" in tia and "5% of 100.00 = 5.00" in tia, tia
    assert ("matching bonus on the bonuses earned, generation 1 from Eli" in tia
            and "25% of 20.00 = 5.00" in tia), tia
