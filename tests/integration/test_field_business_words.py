"""My business in words: each line with names and its formula, the payments that passed the
distributor over with who got them, chart values printed; no ids, on both databases."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from patronage.clock import FixedClock, Period
from patronage.compensation.runs import commit_period
from patronage.db.engine import transaction
from patronage.web.accounts import create_account
from tests.e2e.world import NOW, PASSWORD, app_for, seed, sign_in
from tests.integration.test_web_access import _october

pytestmark = pytest.mark.storage
NOV = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def test_lines_say_who_and_how_much_with_the_formula(engine: Engine) -> None:
    w = seed(engine)
    commit_period(engine, Period(2026, 9), None, now=NOW, actor="test")
    ann = TestClient(app_for(engine))
    assert sign_in(ann, "ann@example.com").status_code == 303
    page = html.unescape(ann.get("/business").text)
    assert "retail profit: Cory paid $120.00, wholesale $90.00 → $30.00" in page
    assert "unilevel level 1: 10% of Ben's 144.00 points = $14.40" in page
    assert f"(#{w.ben})" not in page and "order " not in page.split("</header>")[1]
    assert '<text class="value"' in page  # bar values printed, not only in tooltips


def test_payments_that_passed_over_say_who_got_them(engine: Engine) -> None:
    w = seed(engine)
    _bree, _dee = _october(engine, w)
    commit_period(engine, Period(2026, 10), None, now=NOV, actor="test")
    with transaction(engine) as s:
        create_account(s, email="ben@example.com", password=PASSWORD, role="distributor",
                       member_id=w.ben, now=NOW)
    ben = TestClient(app_for(engine, FixedClock(NOV)))
    assert sign_in(ben, "ben@example.com").status_code == 303
    page = html.unescape(ben.get("/business").text)
    assert "Payments that passed you over" in page
    # Ann, his upline, is not someone Ben may see: she is not named
    assert ("unilevel level 1 on Dee's volume went to a distributor of your team: you were "
            "inactive") in page
    assert "Ann" not in page.split("</header>")[1]


LEADERSHIP = """
[bonuses.rank_advancement]
amounts = { "Consultant" = 20.00 }
instalments = 2

[bonuses.pool]
[[bonuses.pool.pools]]
name = "Everyone's pool"
share_of_cv = 0.01
min_rank = "Consultant"
"""


def test_rank_advancement_and_pool_lines_are_explained_on_both_pages(engine: Engine) -> None:
    from sqlalchemy import select

    from patronage.compensation.core.plan import default_plan_path
    from patronage.compensation.runs import PlanSource
    from patronage.db.compensation import CommissionRun
    from tests.e2e.world import EMAILS

    w = seed(engine)
    plan = PlanSource.from_text(default_plan_path().read_text(encoding="utf-8") + LEADERSHIP)
    commit_period(engine, Period(2026, 9), plan, now=NOW, actor="test")
    ann = TestClient(app_for(engine))
    assert sign_in(ann, "ann@example.com").status_code == 303
    page = html.unescape(ann.get("/business").text)
    advancement = ("rank advancement: Consultant reached for the first time, instalment 1 of 2 "
                   "of 20.00 (equal parts, the cents left over in the first) = $10.00")
    pool = "Everyone's pool: 1% of the company's CV shared by everyone paid as Consultant"
    assert advancement in page and pool in page
    staff = TestClient(app_for(engine))
    assert sign_in(staff, EMAILS["staff"]).status_code == 303
    with transaction(engine) as s:
        run_id = s.scalars(select(CommissionRun.id)).one()
    run = html.unescape(staff.get(f"/company/runs/{run_id}", params={"payee": w.ann}).text)
    assert advancement in run and pool in run
