"""Bonuses paid by the ISO week beside the monthly close: each calendar committed in order on
its own, every order paid once per bonus, binary carry chained week to week, refunds clawed back
by the week (docs/periods.md, "Weekly bonuses")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, select

from patronage.clock import Period, Week
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import (
    PlanSource,
    commit_period,
    next_to_commit,
    preview_period,
    rerun_committed,
)
from patronage.db.compensation import CommissionRun, PayoutLine
from patronage.db.engine import transaction
from patronage.db.payouts import LedgerEntry
from patronage.errors import Conflict, PatronageError
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.open_period import open_window
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.orders.refunds import RefundRequest, refund_order
from tests.factories import distributor

pytestmark = pytest.mark.storage

ZONE = "America/Chicago"
JAN = datetime(2026, 1, 1, tzinfo=UTC)
DEC = Period(2026, 12)
# December 2026 (Chicago) has five ISO weeks: W49 (from Monday 30 November) to W53 (to Sunday
# 3 January 2027).
WEEKS = [Week(2026, n) for n in range(49, 54)]
AFTER = datetime(2027, 1, 5, 12, tzinfo=UTC)  # every week and the month have ended

PLAN_TEXT = """
[plan]
name = "weekly test"
version = "w1"
[active]
min_pv = 0
[[ranks]]
name = "Member"
min_pv = 0
unilevel_depth = 2
[bonuses.fast_start]
rates = [0.20, 0.05]
volume = "cv"
period = "{period}"
[bonuses.unilevel]
rates = [0.10, 0.05]
"""
WEEKLY = PlanSource.from_text(PLAN_TEXT.format(period="week"))
MONTHLY = PlanSource.from_text(PLAN_TEXT.format(period="month"))


def _noon(day: int) -> datetime:
    """Noon in Chicago on ``day`` December 2026."""
    return datetime(2026, 12, day, 18, tzinfo=UTC)


def _month_of_orders(engine: Engine) -> dict[str, int]:
    """A top and an enroller ordering every week of December; a new distributor joining in
    each week with a first order in it (one on 1 December, one on 31 December)."""
    days = [1, 9, 16, 23, 31]
    with transaction(engine) as s:
        add_product(s, NewProduct("PACK", "Pack", 25000, 25000, 25000, 25000,
                                  is_enrollment_pack=True))
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        top = distributor(s, "Tia", joined_at=JAN)
        enroller = distributor(s, "Eli", sponsor=top, joined_at=JAN)
        first = 0
        for i, day in enumerate(days):
            at = _noon(day)
            new = distributor(s, f"New{i}", sponsor=enroller, joined_at=at)
            for who in (top, enroller):
                place_order(s, NewOrder(who, at, [LineRequest("SHAKE")]), now=at)
            placed = place_order(s, NewOrder(new, at, [LineRequest("PACK")],
                                             source="enrollment"), now=at)
            first = first or placed.order.id
    return {"top": top, "enroller": enroller, "first_order": first}


def _store_plan(engine: Engine, plan: PlanSource) -> None:
    set_plan(engine, plan.text, DEC, source="plan", actor="test", now=_noon(1))


def _bonus_totals(engine: Engine, calendar: str) -> dict[str, int]:
    with transaction(engine) as s:
        rows = s.execute(select(PayoutLine.bonus, PayoutLine.amount)
                         .join(CommissionRun, CommissionRun.id == PayoutLine.run_id)
                         .where(CommissionRun.calendar == calendar)).all()
    out: dict[str, int] = {}
    for bonus, amount in rows:
        out[bonus] = out.get(bonus, 0) + int(amount)
    return out


def test_weeks_pay_fast_start_the_month_pays_unilevel_and_together_the_monthly_plan(
        engine: Engine) -> None:
    ids = _month_of_orders(engine)
    all_monthly = preview_period(engine, DEC, MONTHLY, company_zone=ZONE).totals_by_bonus()
    assert set(all_monthly) == {"fast_start", "unilevel"}
    _store_plan(engine, WEEKLY)
    for week in WEEKS:
        run = preview_period(engine, week, company_zone=ZONE)
        assert set(run.totals_by_bonus()) == {"fast_start"}, week  # a new order every week
        commit_period(engine, week, None, now=AFTER, actor="test", company_zone=ZONE)
        assert rerun_committed(engine, week)[0]
    month = preview_period(engine, DEC, company_zone=ZONE)
    assert set(month.totals_by_bonus()) == {"unilevel"}
    commit_period(engine, DEC, None, now=AFTER, actor="test", company_zone=ZONE)
    assert rerun_committed(engine, DEC)[0]
    assert _bonus_totals(engine, "week") == {"fast_start": all_monthly["fast_start"]}
    assert _bonus_totals(engine, "month") == {"unilevel": all_monthly["unilevel"]}
    # Fast start is 20% + 5% of five 250.00 first orders.
    assert all_monthly["fast_start"] == 5 * (5000 + 1250)
    with transaction(engine) as s:
        stored = s.execute(select(CommissionRun.period, CommissionRun.calendar)
                           .order_by(CommissionRun.id)).all()
        # Weekly runs post to the earnings ledger like monthly ones.
        earned = s.scalars(select(LedgerEntry.amount).join(
            CommissionRun, CommissionRun.id == LedgerEntry.source_id)
            .where(LedgerEntry.kind == "earned", CommissionRun.calendar == "week")).all()
    assert [tuple(r) for r in stored] == [(str(w), "week") for w in WEEKS] + [("2026-12",
                                                                              "month")]
    assert sum(earned) == all_monthly["fast_start"]
    # The statement of the month they were committed in lists each week's commissions; its
    # ranks are the month's.
    from patronage.payouts.statements import statement_of
    from patronage.payouts.words import source_words

    statement = statement_of(engine, ids["top"], Period(2027, 1),
                             now=datetime(2027, 2, 2, 12, tzinfo=UTC), company_zone=ZONE)
    words = [source_words(line.movement) for line in statement.lines]
    assert words == [f"Commissions for {w}" for w in WEEKS] + ["Commissions for 2026-12"]
    assert [r.period for r in statement.ranks] == ["2026-12"]


def test_weeks_are_committed_in_order_only_once_ended_and_once(engine: Engine) -> None:
    _month_of_orders(engine)
    _store_plan(engine, WEEKLY)
    with pytest.raises(Conflict, match=r"period 2026-W50: the period before it \(2026-W49\) "
                                       r"has 3 orders and is still open; commit 2026-W49 first"):
        commit_period(engine, WEEKS[1], None, now=AFTER, actor="test", company_zone=ZONE)
    # W49 ends on Monday 7 December, 00:00 in Chicago (06:00 UTC).
    ends = datetime(2026, 12, 7, 6, tzinfo=UTC)
    with pytest.raises(Conflict, match=r"period 2026-W49 has not ended yet \(it ends "
                                       r"2026-12-07 00:00 America/Chicago\)"):
        commit_period(engine, WEEKS[0], None, now=ends - timedelta(seconds=1), actor="test",
                      company_zone=ZONE)
    nxt = next_to_commit(engine, ends, company_zone=ZONE, calendar="week")
    assert (nxt.period, nxt.refusal) == (WEEKS[0], None)
    commit_period(engine, WEEKS[0], None, now=ends, actor="test", company_zone=ZONE)
    with pytest.raises(Conflict, match=r"period 2026-W49 already committed by run \d+"):
        commit_period(engine, WEEKS[0], None, now=AFTER, actor="test", company_zone=ZONE)
    # The month is not held up by the weeks, nor they by it: December's orders still await
    # the monthly run, and no earlier month with orders is open.
    assert next_to_commit(engine, AFTER, company_zone=ZONE).period == DEC
    assert next_to_commit(engine, AFTER, company_zone=ZONE, calendar="week").period == WEEKS[1]
    # Orders can no longer be dated into the committed week.
    with transaction(engine) as s:
        window = open_window(s, AFTER, company_zone=ZONE)
    assert window.since == ends
    assert "is in period 2026-W49, which is committed" in (window.problem(_noon(2)) or "")


def test_a_week_is_refused_when_the_plan_pays_nothing_by_the_week(engine: Engine) -> None:
    _month_of_orders(engine)
    _store_plan(engine, MONTHLY)
    with pytest.raises(Conflict, match=r"week 2026-W49: the plan in force for 2026-12 pays "
                                       r"no bonus by the week"):
        commit_period(engine, WEEKS[0], None, now=AFTER, actor="test", company_zone=ZONE)
    assert next_to_commit(engine, AFTER, company_zone=ZONE, calendar="week").refusal


def test_a_refund_in_a_later_week_claws_back_the_weekly_fast_start(engine: Engine) -> None:
    ids = _month_of_orders(engine)
    _store_plan(engine, WEEKLY)
    commit_period(engine, WEEKS[0], None, now=AFTER, actor="test", company_zone=ZONE)
    with transaction(engine) as s:
        refund_order(s, RefundRequest(ids["first_order"], _noon(10), "returned"),
                     now=_noon(10))
    w50 = preview_period(engine, WEEKS[1], company_zone=ZONE)
    assert {(c.earner_id, c.bonus, c.amount) for c in w50.clawbacks} == {
        (ids["enroller"], "fast_start", -5000), (ids["top"], "fast_start", -1250)}
    # The month's run pays no fast start, so it takes none back either.
    for week in WEEKS[1:]:
        commit_period(engine, week, None, now=AFTER, actor="test", company_zone=ZONE)
    dec = preview_period(engine, DEC, company_zone=ZONE)
    assert dec.clawbacks == [] and "fast_start" not in dec.totals_by_bonus()
    assert _bonus_totals(engine, "week")["fast_start"] == 4 * (5000 + 1250)


BINARY = PlanSource.from_text("""
[plan]
name = "weekly binary"
version = "b1"
[active]
min_pv = 0
[[ranks]]
name = "Member"
min_pv = 0
[bonuses.binary]
unit = 100
rate = 0.10
period = "week"
""")


def test_binary_carry_chains_from_week_to_week(engine: Engine) -> None:
    from patronage.compensation.core.results import BONUS_CODE
    from patronage.network.placement import place

    with transaction(engine) as s:
        add_product(s, NewProduct("SHAKE", "Shake", 10000, 10000, 10000, 10000))
        top = distributor(s, "Top", joined_at=JAN)
        a = distributor(s, "Ann", sponsor=top, joined_at=JAN)
        b = distributor(s, "Ben", sponsor=top, joined_at=JAN)
        place(s, a, rule="left", at=JAN, actor="t")
        place(s, b, rule="right", at=JAN, actor="t")
        # Week 49: left 100 points, right 300; week 50: 200 more on the left.
        place_order(s, NewOrder(a, _noon(2), [LineRequest("SHAKE")]), now=_noon(2))
        place_order(s, NewOrder(b, _noon(2), [LineRequest("SHAKE", 3)]), now=_noon(2))
        place_order(s, NewOrder(a, _noon(9), [LineRequest("SHAKE", 2)]), now=_noon(9))
    set_plan(engine, BINARY.text, DEC, source="plan", actor="test", now=_noon(1))

    def binary_to_top(week: Week) -> list[int]:
        run = preview_period(engine, week, company_zone=ZONE)
        at = int(run.facts.genealogy.index_of(np.array([top]))[0])
        p = run.result.payouts
        return p.amount[(p.earner == at) & (p.bonus == BONUS_CODE["binary"])].tolist()

    assert binary_to_top(WEEKS[0]) == [1000]  # 10% of the 100 points paired
    commit_period(engine, WEEKS[0], None, now=AFTER, actor="test", company_zone=ZONE)
    assert binary_to_top(WEEKS[1]) == [2000]  # the 200 carried on the right meet 200 more
    commit_period(engine, WEEKS[1], None, now=AFTER, actor="test", company_zone=ZONE)
    assert rerun_committed(engine, WEEKS[1])[0]
    # The monthly run pays no binary: the weeks paid it.
    assert preview_period(engine, DEC, company_zone=ZONE).total_paid == 0


def test_weeks_are_written_and_checked_like_months() -> None:
    assert str(Week.parse("2026-W49")) == "2026-W49"
    assert Week.parse("2026-w01").first_day().isoformat() == "2025-12-29"
    assert Week(2026, 53).next() == Week(2027, 1)
    assert Week(2027, 1).previous() == Week(2026, 53)
    assert Week(2026, 49).month() == DEC
    for text, reason in (("2026-W54", "2026 has weeks W01 to W53"),
                         ("2027-W53", "2027 has weeks W01 to W52"),
                         ("2026-W00", "does not exist"),
                         ("9999-W01", "out of range"),
                         ("2026-49", "not a week written YYYY-Www")):
        with pytest.raises(PatronageError, match=reason):
            Week.parse(text)


def test_the_runs_page_offers_the_next_week_beside_the_next_month(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from patronage.compensation.core.plan import default_plan_path
    from tests.e2e.world import EMAILS, csrf_of, seed, sign_in
    from tests.e2e.world import app_for as web_app_for

    # The example plan with its fast start paid by the week, in force from September 2026;
    # the world's orders are of 3 to 9 September (weeks 2026-W36 and 2026-W37).
    text = default_plan_path().read_text(encoding="utf-8").replace(
        "[bonuses.fast_start]\n", '[bonuses.fast_start]\nperiod = "week"\n')
    assert 'period = "week"' in text
    set_plan(engine, text, Period(2026, 9), source="weekly.toml", actor="test",
             now=datetime(2026, 9, 1, tzinfo=UTC))
    seed(engine, plan=False)
    client = TestClient(web_app_for(engine))  # mid-October
    assert sign_in(client, EMAILS["staff"]).status_code == 303
    page = client.get("/company/runs").text
    assert "Commit 2026-09" in page and "Commit 2026-W36" in page
    assert "The plan pays fast_start by the week" in page
    assert "I understand this locks 2026-W36: payments can no longer change" in page
    preview = client.get("/company/runs/preview?period=2026-W36")
    assert preview.status_code == 200 and "Commit 2026-W36" in preview.text
    csrf = csrf_of(page)
    early = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-W37",
                                                      "confirm": "yes"})
    assert early.status_code == 409 and "commit 2026-W36 first" in early.text
    done = client.post("/company/runs/commit", data={"csrf_token": csrf, "period": "2026-W36",
                                                     "confirm": "yes"})
    assert done.status_code == 200 and "Period 2026-W36 is committed" in done.text
    assert "Committed weeks" in done.text and "Commit 2026-W37" in done.text
    assert "Commit 2026-09" in done.text  # the month is still to commit


def test_the_cli_previews_and_commits_a_week(engine: Engine, db_url: str) -> None:
    from typer.testing import CliRunner

    from patronage.cli.main import app

    ids = _month_of_orders(engine)
    _store_plan(engine, WEEKLY)
    runner = CliRunner()
    base = ["--db", db_url, "commissions"]  # the company in America/Chicago
    shown = runner.invoke(app, [*base, "run", "--week", "2026-W49", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"fast_start": 6250' in shown.output and "unilevel" not in shown.output
    out_of_order = runner.invoke(app, [*base, "commit", "--week", "2026-W50",
                                       "--now", AFTER.isoformat()])
    assert out_of_order.exit_code != 0 and "commit 2026-W49 first" in str(out_of_order.exception)
    done = runner.invoke(app, [*base, "commit", "--week", "2026-W49", "--now", AFTER.isoformat()])
    assert done.exit_code == 0 and "period 2026-W49 committed" in done.output
    told = runner.invoke(app, [*base, "explain", "--member", str(ids["enroller"]),
                               "--period", "2026-W49"])
    assert told.exit_code == 0, told.output
    assert "50.00" in told.output and "2026-W49" in told.output, told.output
    bad = runner.invoke(app, [*base, "run", "--week", "2027-W53"])
    assert bad.exit_code != 0 and "2027 has weeks W01 to W52" in str(bad.exception)


def test_a_change_to_the_weekly_bonuses_starts_with_a_month_that_begins_on_a_monday(
        engine: Engine) -> None:
    set_plan(engine, WEEKLY.text, Period(2026, 11), source="plan", actor="test", now=_noon(1))
    with pytest.raises(Conflict, match=r"plan from 2026-12: it changes which bonuses are paid by "
                                       r"the week \(fast_start before\), and week 2026-W49 "
                                       r"spans the change \(from 2026-11-30\); .* \(the next is "
                                       r"2027-02\)"):
        _store_plan(engine, MONTHLY)
    # A version that pays the same bonuses by the week may start in any month.
    set_plan(engine, WEEKLY.text.replace('"w1"', '"w2"'), DEC, source="plan", actor="test",
             now=_noon(1))
    monthly = set_plan(engine, MONTHLY.text, Period(2027, 2), source="plan", actor="test",
                       now=_noon(1))
    assert monthly.effective_from == "2027-02"


def test_the_first_week_of_a_weekly_plan_begins_with_its_month(engine: Engine) -> None:
    """A plan paying by the week from December: Monday 30 November is November's, paid by
    November's monthly run; week 2026-W49 pays from 1 December on."""
    set_plan(engine, MONTHLY.text, Period(2026, 11), source="plan", actor="test", now=_noon(1))
    _store_plan(engine, WEEKLY)
    ids = _month_of_orders(engine)
    monday = datetime(2026, 11, 30, 18, tzinfo=UTC)
    with transaction(engine) as s:
        late = distributor(s, "Nov", sponsor=ids["enroller"], joined_at=monday)
        place_order(s, NewOrder(late, monday, [LineRequest("PACK")], source="enrollment"),
                    now=monday)
    nov = preview_period(engine, Period(2026, 11), company_zone=ZONE)
    assert nov.totals_by_bonus()["fast_start"] == 5000 + 1250
    commit_period(engine, Period(2026, 11), None, now=AFTER, actor="test", company_zone=ZONE)
    w49 = preview_period(engine, WEEKS[0], company_zone=ZONE)
    assert w49.totals_by_bonus() == {"fast_start": 5000 + 1250}  # the 1 December order only
    assert w49.facts.lines.size == 3


def test_a_plan_cannot_take_effect_in_the_month_of_a_committed_week(engine: Engine) -> None:
    _month_of_orders(engine)
    _store_plan(engine, WEEKLY)
    for week in WEEKS:
        commit_period(engine, week, None, now=AFTER, actor="test", company_zone=ZONE)
    # 2026-W53 ends on Sunday 3 January 2027: it runs with the plan in force for January (the
    # December version), which a version from January would change.
    with pytest.raises(Conflict, match=r"plan from 2027-01: week 2026-W53 is already committed"):
        set_plan(engine, WEEKLY.text, Period(2027, 1), source="plan", actor="test", now=AFTER)


def test_the_api_previews_commits_and_lists_weeks(engine: Engine) -> None:
    from patronage.clock import FixedClock
    from patronage.compensation.core.plan import default_plan_path
    from tests.integration.test_api_support import API, acting_as, app_for, company

    text = default_plan_path().read_text(encoding="utf-8").replace(
        "[bonuses.fast_start]\n", '[bonuses.fast_start]\nperiod = "week"\n')
    set_plan(engine, text, Period(2026, 10), source="weekly.toml", actor="test",
             now=datetime(2026, 10, 1, tzinfo=UTC))
    c = company(engine, plan=False)  # orders on Thursday 15 October 2026: week 2026-W42
    client = acting_as(app_for(engine, FixedClock(datetime(2026, 10, 20, tzinfo=UTC))),
                       c.staff())
    shown = client.get(f"{API}/commissions/2026-W42/preview")
    assert shown.status_code == 200 and shown.json()["period"] == "2026-W42"
    assert client.post(f"{API}/commissions/2026-W43/commit").status_code == 409  # not ended
    done = client.post(f"{API}/commissions/2026-W42/commit")
    assert done.status_code == 200 and done.json()["reproduces"] is True
    runs = client.get(f"{API}/commissions/runs").json()
    assert [(r["period"], r["calendar"]) for r in runs] == [("2026-W42", "week")]
    assert client.get(f"{API}/commissions/2026-W54/preview").status_code == 422
    missing = client.get(f"{API}/commissions/2027-W53/preview")
    assert missing.status_code == 422 and "2027 has weeks W01 to W52" in missing.text
