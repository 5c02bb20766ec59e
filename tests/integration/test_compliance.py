"""Customer-volume evidence, the recruitment-reward index and the income disclosure of a small
company whose figures are worked by hand, on both databases; the staff page and the public
disclosure page."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from patronage.clock import FixedClock, Period, zone
from patronage.compensation.plan_versions import set_plan
from patronage.compensation.runs import commit_period
from patronage.compliance.core.evidence import VolumeMix
from patronage.compliance.disclosure import income_disclosure
from patronage.compliance.evidence import load_evidence
from patronage.compliance.recruitment import reward_mix
from patronage.db.compensation import PayoutLine, RankRecord
from patronage.db.engine import transaction
from patronage.errors import NotFound
from patronage.orders.catalog import NewProduct, add_product
from patronage.orders.orders import LineRequest, NewOrder, place_order
from patronage.web.accounts import create_account
from tests.e2e.world import PASSWORD, app_for, sign_in
from tests.factories import customer, distributor
from tests.integration.test_commission_runs import MID_NOV, MID_OCT, OCT, PLAN

TZ = zone("America/Chicago")
JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _company(engine: Engine, *, commit: bool = True) -> dict[str, int]:
    """Tia sponsors Eli, Eli sponsors Nia (new in October, buys a pack). Eli's customer Cal
    buys two shakes, Tia's customer Cy one; Tia and Eli buy a shake each.

    CV (hundredths of a point): shake 4,000, pack 10,000 (QV 10,000 each: everybody is
    active). Company: consumption 20,000 (Tia 4,000 + Cy 4,000; Eli 4,000 + Cal 8,000),
    promotional 10,000 (Nia), of it customers 12,000: 40% from customers, a third
    promotional. Eli's team (Eli, Nia): 22,000, of it 8,000 from customers (4/11)."""
    with transaction(engine) as s:
        add_product(s, NewProduct("PACK", "Pack", 25000, 25000, 10000, 10000,
                                  is_enrollment_pack=True))
        add_product(s, NewProduct("SHAKE", "Shake", 6000, 5000, 10000, 4000))
        tia = distributor(s, "Tia", joined_at=JAN)
        eli = distributor(s, "Eli", sponsor=tia, joined_at=JAN)
        nia = distributor(s, "Nia", sponsor=eli, joined_at=MID_OCT)
        cal = customer(s, eli, "Cal", joined_at=JAN)
        cy = customer(s, tia, "Cy", joined_at=JAN)
        for who, sku, qty in ((tia, "SHAKE", 1), (eli, "SHAKE", 1), (cal, "SHAKE", 2),
                              (cy, "SHAKE", 1)):
            place_order(s, NewOrder(who, MID_OCT, [LineRequest(sku, qty)]), now=MID_OCT)
        place_order(s, NewOrder(nia, MID_OCT, [LineRequest("PACK")], source="enrollment"),
                    now=MID_OCT)
    set_plan(engine, PLAN.text, Period(2026, 1), source="plan", actor="test", now=MID_OCT)
    if commit:
        commit_period(engine, OCT, PLAN, now=MID_NOV, actor="test")
    return {"tia": tia, "eli": eli, "nia": nia, "cal": cal, "cy": cy}


def test_evidence_per_distributor_team_and_company(engine: Engine) -> None:
    ids = _company(engine)
    ev = load_evidence(engine, OCT, OCT)
    assert ev.company == VolumeMix(consumption=20000, promotional=10000, customer=12000)
    assert ev.company.customer_share == Fraction(2, 5)
    assert ev.company.promotional_share == Fraction(1, 3)
    d = ev.distributors
    index = {int(m): i for i, m in enumerate(d.member_id)}
    assert d.personal(index[ids["eli"]]) == VolumeMix(12000, 0, 8000)
    assert d.team(index[ids["eli"]]) == VolumeMix(12000, 10000, 8000)
    assert d.team(index[ids["eli"]]).customer_share == Fraction(4, 11)
    assert d.team(index[ids["tia"]]) == ev.company
    assert (ev.ratio.distributors, ev.ratio.customers, ev.ratio.ordering_customers,
            ev.ratio.distributors_without_customers) == (3, 2, 2, 1)
    with pytest.raises(NotFound, match="no committed period"):
        load_evidence(engine, Period(2025, 1), Period(2025, 12))


def test_the_disclosure_counts_every_participant_and_reproduces(engine: Engine) -> None:
    ids = _company(engine)
    with transaction(engine) as s:
        paid = dict(s.execute(select(PayoutLine.earner_id, func.sum(PayoutLine.amount))
                              .group_by(PayoutLine.earner_id)).all())
    with transaction(engine) as s:
        kept = dict(s.execute(select(RankRecord.member_id, RankRecord.earned)).all())
    # Each rank record keeps what its run paid the distributor.
    assert kept == {ids[k]: int(paid.get(ids[k], 0)) for k in ("tia", "eli", "nia")}
    d = income_disclosure(engine, 2026, TZ)
    assert d.participants == 3 and d.periods == ("2026-10",)
    everyone = d.everyone[-1]
    expected = sorted(int(paid.get(ids[k], 0)) for k in ("tia", "eli", "nia"))
    assert everyone.total == sum(expected)
    assert everyone.median == expected[1]
    assert everyone.earned_nothing == expected.count(0)
    assert everyone.lowest == expected[0] and everyone.highest == expected[2]
    # Nia joined in October: not in the full-year cohort.
    assert d.full_year_participants == 2
    assert sum(r.headcount for r in d.full_year[:-1]) == 2
    assert income_disclosure(engine, 2026, TZ) == d
    with pytest.raises(NotFound, match="income disclosure for 2025"):
        income_disclosure(engine, 2025, TZ)


def test_recruitment_index_splits_packs_first_orders_and_consumption(engine: Engine) -> None:
    _company(engine)
    rows = reward_mix(engine, OCT, OCT)
    company = rows[-1]
    assert company.rank is None and company.period == "2026-10"
    with transaction(engine) as s:
        total = s.scalar(select(func.sum(PayoutLine.amount)))
    assert company.total == total
    # The plan's fast start pays on Nia's pack: enrollment; every other order is each buyer's
    # first of the month, and the first they ever placed: new members' first orders.
    assert company.enrollment > 0
    assert company.enrollment + company.new_members + company.consumption == company.total
    assert sum(r.total for r in rows[:-1]) == company.total


def test_staff_page_and_public_disclosure(engine: Engine) -> None:
    _company(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with transaction(engine) as s:
        create_account(s, email="staff@example.com", password=PASSWORD, role="staff",
                       member_id=None, now=now)
    app = app_for(engine, FixedClock(now))
    with TestClient(app) as anonymous:
        page = anonymous.get("/income-disclosure", follow_redirects=True)
        assert page.status_code == 200
        assert "Income disclosure 2026" in page.text
        assert "3 people were distributors during the year" in page.text
        assert "gross earnings" in page.text
        csv_text = anonymous.get("/income-disclosure/2026.csv").text
        assert csv_text.splitlines()[0].startswith("table,paid_as_rank,participants")
        assert len(csv_text.splitlines()) > 2
        assert anonymous.get("/income-disclosure/2025").status_code == 404
        assert anonymous.get("/income-disclosure/1800").status_code == 422
        assert anonymous.get("/company/compliance", follow_redirects=False).status_code == 303
    with TestClient(app) as staff:
        assert sign_in(staff, "staff@example.com").status_code == 303
        page = staff.get("/company/compliance?minimum=50")
        assert page.status_code == 200, page.text
        assert "40.0%" in page.text  # bought by customers, company-wide
        assert "33.3%" in page.text  # promotional
        # Eli's team (36.4% from customers) and Tia's (40%) are below 50%
        assert "2 team(s) bought less than 50%" in page.text
        assert "Eli" in page.text
        below_40 = staff.get("/company/compliance?minimum=40").text
        assert "1 team(s) bought less than 40%" in below_40


def test_cli_prints_the_evidence_and_the_disclosure(engine: Engine, db_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from patronage.cli.main import app

    _company(engine)
    runner = CliRunner()
    out = runner.invoke(app, ["--db", db_url, "compliance", "evidence", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert (data["customer_share"], data["promotional_share"], data["teams_below"]) == \
        (0.4, 0.3333, 2)
    out = runner.invoke(app, ["--db", db_url, "compliance", "disclosure",
                              "--year", "2026", "--csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0].startswith("table,paid_as_rank,participants")
    out = runner.invoke(app, ["--db", db_url, "compliance", "disclosure",
                              "--year", "2025"])
    assert out.exit_code != 0 and "no committed period" in str(out.exception)


RULE = """
[compliance]
min_team_customer_share = {share}
"""


@pytest.mark.parametrize(("share", "withheld"), [("0.5", {"tia", "eli"}), ("0.4", {"eli"}),
                                                 ("0.3", set())])
def test_a_team_below_the_plans_customer_share_loses_its_downline_earnings(
        engine: Engine, share: str, withheld: set[str]) -> None:
    """Tia's team buys 40% of its volume from customers, Eli's 4/11 (36%): under a 50% rule
    both lose their downline earnings (unilevel, fast start), under 40% only Eli, under 30%
    nobody; the explanation says why."""
    from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE
    from patronage.compensation.reports import explain_member
    from patronage.compensation.runs import PlanSource, preview_period
    from patronage.db.compensation import PayoutSkip

    ids = _company(engine, commit=False)
    ruled = PlanSource.from_text(PLAN.text + RULE.format(share=share))
    free = preview_period(engine, OCT, PLAN)
    run = preview_period(engine, OCT, ruled)
    paid_before = {run.member_id(int(e)) for e in free.result.payouts.earner}
    paid_after = {run.member_id(int(e)) for e in run.result.payouts.earner}
    names = {v: k for k, v in ids.items()}
    assert {names[m] for m in paid_before - paid_after} == withheld
    assert {names[m] for m in paid_before} >= withheld
    commit_period(engine, OCT, ruled, now=MID_NOV, actor="test")
    with transaction(engine) as s:
        skipped = set(s.scalars(select(PayoutSkip.member_id)
                                .where(PayoutSkip.reason == REASON_CUSTOMER_SHARE)))
        lines = set(s.scalars(select(PayoutLine.earner_id)))
    assert {names[m] for m in skipped} == withheld
    assert not {names[m] for m in lines} & withheld
    for who in withheld:
        words = "\n".join(explain_member(engine, ids[who], OCT))
        assert "withheld: the team's customers bought less than the plan's minimum share" \
            in words, words
