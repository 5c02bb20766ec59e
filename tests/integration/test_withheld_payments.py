"""Payments the customer-volume rule withholds, released when the team meets the rule later (if
the plan says so) or forfeited, on a company worked by hand, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from patronage.clock import Period
from patronage.compensation.core.plan import parse_plan
from patronage.compensation.core.results import BONUS_CODE, BONUSES
from patronage.compensation.reports import explain_member
from patronage.compensation.runs import (
    PlanSource,
    commit_period,
    preview_period,
    rerun_committed,
)
from patronage.compensation.withheld import FORFEITED, PENDING, RELEASED, withheld_summary
from patronage.db.compensation import PayoutLine
from patronage.db.compliance import WithheldPayment
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry
from patronage.errors import Problems
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from tests.factories import customer, distributor

OCT, NOV, DEC = Period(2026, 10), Period(2026, 11), Period(2026, 12)
MID = {OCT: datetime(2026, 10, 15, 12, tzinfo=UTC), NOV: datetime(2026, 11, 15, 12, tzinfo=UTC),
       DEC: datetime(2026, 12, 15, 12, tzinfo=UTC)}
AFTER = {OCT: MID[NOV], NOV: MID[DEC], DEC: datetime(2027, 1, 15, 12, tzinfo=UTC)}
JAN = datetime(2026, 1, 1, tzinfo=UTC)

PLAN = """
[plan]
name = "test"
version = "t1"
[active]
min_pv = 100
[[ranks]]
name = "Member"
min_pv = 100
unilevel_depth = 1
[bonuses.unilevel]
rates = [0.10]
[compliance]
min_team_customer_share = 0.5
"""

#: Who buys how many shakes each month: Lia (the leader), Dan (her downline), Cy (her
#: customer). Shake: QV 100.00 points, CV 40.00. Lia's team's CV and its customers' part:
#: October 8 of 20 (40%), November 12 of 20 (60%); "dec-low" 8 of 20 again.
MONTHS = {"oct": (1, 2, 2), "nov": (1, 1, 3), "dec-low": (1, 2, 2)}


def _plan(within: int | None) -> PlanSource:
    extra = "" if within is None else f"release_withheld_within = {within}\n"
    return PlanSource.from_text(PLAN + extra)


def _company(engine: Engine) -> dict[str, int]:
    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 6000, 5000, 10000, 4000))
        lia = distributor(s, "Lia", joined_at=JAN)
        dan = distributor(s, "Dan", sponsor=lia, joined_at=JAN)
        cy = customer(s, lia, "Cy", joined_at=JAN)
    return {"lia": lia, "dan": dan, "cy": cy}


def _orders(engine: Engine, ids: dict[str, int], period: Period, month: str) -> None:
    at = MID[period]
    with transaction(engine) as s:
        for who, qty in zip(("lia", "dan", "cy"), MONTHS[month], strict=True):
            place_order(s, NewOrder(ids[who], at, [LineRequest("SHAKE", qty)]), now=at)


def _release_lines(run_lines: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    return [x for x in run_lines if x[0] == BONUS_CODE["withheld_release"]]


def _lines_of(run: object, member: int) -> list[tuple[int, int, int]]:
    """(bonus code, level, amount) of the run's payout lines to ``member``."""
    p = run.result.payouts  # type: ignore[attr-defined]
    idx = int(run.facts.genealogy.index_of([member])[0])  # type: ignore[attr-defined]
    mine = p.earner == idx
    return sorted(zip(p.bonus[mine].tolist(), p.level[mine].tolist(), p.amount[mine].tolist(),
                      strict=True))


def test_the_release_option_is_checked_naming_the_key() -> None:
    for bad in ("-1", "1.5", "true", "30"):
        with pytest.raises(Problems) as caught:
            parse_plan(__import__("tomllib").loads(PLAN + f"release_withheld_within = {bad}\n"),
                       "plan.toml")
        assert any("compliance.release_withheld_within" in p.place for p in caught.value.problems)
    with pytest.raises(Problems) as caught:
        parse_plan(__import__("tomllib").loads(PLAN + "[bonuses.withheld_release]\n"),
                   "plan.toml")
    assert any("bonuses.withheld_release" in p.place for p in caught.value.problems)


def test_a_month_withheld_is_released_when_the_team_meets_the_rule(engine: Engine) -> None:
    """October: Lia's team buys 40% from customers under a 50% rule, so her unilevel on Dan's
    two shakes (10% of 80.00 CV points = 8.00) is withheld. November: 60%, so she is paid
    November's unilevel (10% of Dan's 40.00 = 4.00) and October's 8.00 released, once."""
    ids = _company(engine)
    plan = _plan(2)
    _orders(engine, ids, OCT, "oct")
    oct_run = preview_period(engine, OCT, plan)
    assert _lines_of(oct_run, ids["lia"]) == []
    commit_period(engine, OCT, plan, now=AFTER[OCT], actor="test")
    with transaction(engine) as s:
        stored = [(w.member_id, BONUSES[w.bonus], w.lines, w.amount, w.released_in_run_id,
                   w.forfeited_in_run_id) for w in s.scalars(select(WithheldPayment))]
    assert stored == [(ids["lia"], "unilevel", 1, 800, None, None)]
    words = "\n".join(explain_member(engine, ids["lia"], OCT))
    assert "withheld: the team's customers bought less than the plan's minimum share" in words
    assert "unilevel withheld in 2026-10: 8.00" in words
    assert "pending release" in words

    _orders(engine, ids, NOV, "nov")
    unilevel = BONUS_CODE["unilevel"]
    release = BONUS_CODE["withheld_release"]
    first = preview_period(engine, NOV, plan)
    again = preview_period(engine, NOV, plan)
    assert _lines_of(first, ids["lia"]) == _lines_of(again, ids["lia"]) == [
        (unilevel, 1, 400), (release, 1, 800)]
    preview_words = "\n".join(explain_member(engine, ids["lia"], NOV, plan))
    assert "released now: unilevel withheld in 2026-10: 8.00" in preview_words
    run_id = commit_period(engine, NOV, plan, now=AFTER[NOV], actor="test")
    with transaction(engine) as s:
        paid = dict(s.execute(select(PayoutLine.bonus, func.sum(PayoutLine.amount))
                              .where(PayoutLine.run_id == run_id,
                                     PayoutLine.earner_id == ids["lia"])
                              .group_by(PayoutLine.bonus)).all())
        assert paid == {"unilevel": 400, "withheld_release": 800}
        row = s.scalars(select(WithheldPayment)).one()
        assert (row.released_in_run_id, row.forfeited_in_run_id) == (run_id, None)
        earned = s.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.member_id == ids["lia"], LedgerEntry.source_id == run_id,
            LedgerEntry.kind == "earned"))
        assert earned == 1200
    words = "\n".join(explain_member(engine, ids["lia"], NOV, plan))
    assert "released now: unilevel withheld in 2026-10: 8.00" in words
    assert "withheld release" in words
    same, replay = rerun_committed(engine, NOV)
    assert same and _release_lines(_lines_of(replay, ids["lia"])) == [(release, 1, 800)]
    # December meets the rule too: October's amount is not paid a second time.
    _orders(engine, ids, DEC, "nov")
    assert _release_lines(_lines_of(preview_period(engine, DEC, plan), ids["lia"])) == []
    summary = withheld_summary(engine)
    assert summary.totals == {PENDING: 0, RELEASED: 800, FORFEITED: 0}
    assert [(e.period, e.state, e.state_period) for e in summary.entries] == [
        ("2026-10", RELEASED, "2026-11")]


@pytest.mark.parametrize("within", [None, 0])
def test_without_the_option_a_withheld_payment_is_forfeited(engine: Engine,
                                                            within: int | None) -> None:
    ids = _company(engine)
    plan = _plan(within)
    _orders(engine, ids, OCT, "oct")
    oct_id = commit_period(engine, OCT, plan, now=AFTER[OCT], actor="test")
    _orders(engine, ids, NOV, "nov")
    nov = preview_period(engine, NOV, plan)
    assert _lines_of(nov, ids["lia"]) == [(BONUS_CODE["unilevel"], 1, 400)]
    with transaction(engine) as s:
        row = s.scalars(select(WithheldPayment)).one()
        assert (row.amount, row.released_in_run_id, row.forfeited_in_run_id) == (800, None,
                                                                                  oct_id)
    words = "\n".join(explain_member(engine, ids["lia"], OCT))
    assert "unilevel withheld in 2026-10: 8.00: forfeited" in words
    assert withheld_summary(engine).totals == {PENDING: 0, RELEASED: 0, FORFEITED: 800}


def test_an_amount_withheld_longer_ago_than_the_plan_allows_is_forfeited(
        engine: Engine) -> None:
    """Release within one period: October and November are both withheld (40%); December
    meets the rule and releases November's 8.00, while October's, two periods back, is
    forfeited by December's run and explained so."""
    ids = _company(engine)
    plan = _plan(1)
    _orders(engine, ids, OCT, "oct")
    commit_period(engine, OCT, plan, now=AFTER[OCT], actor="test")
    _orders(engine, ids, NOV, "dec-low")
    commit_period(engine, NOV, plan, now=AFTER[NOV], actor="test")
    _orders(engine, ids, DEC, "nov")
    dec = preview_period(engine, DEC, plan)
    release = BONUS_CODE["withheld_release"]
    assert _release_lines(_lines_of(dec, ids["lia"])) == [(release, 1, 800)]
    words = "\n".join(explain_member(engine, ids["lia"], DEC, plan))
    assert "forfeited: unilevel withheld in 2026-10: 8.00" in words
    dec_id = commit_period(engine, DEC, plan, now=AFTER[DEC], actor="test")
    with transaction(engine) as s:
        rows = [(w.amount, w.released_in_run_id, w.forfeited_in_run_id)
                for w in s.scalars(select(WithheldPayment).order_by(WithheldPayment.id))]
    assert rows == [(800, None, dec_id), (800, dec_id, None)]
    summary = withheld_summary(engine)
    assert summary.totals == {PENDING: 0, RELEASED: 800, FORFEITED: 800}
    assert rerun_committed(engine, DEC)[0]


def test_the_pages_list_withheld_payments_with_their_state(engine: Engine) -> None:
    """After October (withheld) and November (released): the staff compliance page lists
    Lia's October unilevel as released in 2026-11 with the totals; her "My business" page
    explains the release line and the withheld payment, in English and in Spanish."""
    import html

    from fastapi.testclient import TestClient

    from patronage.clock import FixedClock
    from patronage.db.tables import Member
    from patronage.web.accounts import create_account
    from tests.e2e.world import PASSWORD, app_for, sign_in

    ids = _company(engine)
    plan = _plan(2)
    _orders(engine, ids, OCT, "oct")
    commit_period(engine, OCT, plan, now=AFTER[OCT], actor="test")
    _orders(engine, ids, NOV, "nov")
    commit_period(engine, NOV, plan, now=AFTER[NOV], actor="test")
    now = AFTER[DEC]  # December is over: its statement can be read
    with transaction(engine) as s:
        create_account(s, email="staff@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=now)
        create_account(s, email="lia@example.com", password=PASSWORD, role="distributor",
                       member_id=ids["lia"], now=now)
    app = app_for(engine, FixedClock(now))
    with TestClient(app) as staff:
        assert sign_in(staff, "staff@example.com").status_code == 303
        page = html.unescape(staff.get("/company/compliance").text)
        assert "Withheld payments" in page
        assert "Released: 1 ($8.00)" in page or "Released: 1 (8.00" in page, page
        assert "released in 2026-11" in page
        assert "Lia" in page
    with TestClient(app) as lia:
        assert sign_in(lia, "lia@example.com").status_code == 303
        page = html.unescape(lia.get("/business").text)
        assert "withheld release: paid now that the team's customers buy enough" in page
        assert ("unilevel of 2026-10: withheld because the team's customers bought less than "
                "the plan's minimum share of its volume; released in 2026-11") in page
        # The earnings statement of the month November's run was posted in names the line.
        statement = html.unescape(lia.get("/earnings/statements/2026-12").text)
        assert "withheld release" in statement, statement
        with transaction(engine) as s:
            member = s.get(Member, ids["lia"])
            assert member is not None
            member.locale = "es-US"
        spanish = html.unescape(lia.get("/business").text)
        assert "Pagos retenidos" in spanish
        assert "liberado en 2026-11" in spanish
