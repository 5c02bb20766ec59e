"""Published worked examples of plan rules (tests/fixtures/README.md), through both engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE, REASON_INACTIVE, RunResult
from patronage.facts import PeriodFacts
from tests.unit.compensation.builders import END, START, Company, Line, plan

Engine = Callable[[PeriodFacts, Any], RunResult]
ENGINES: list[Engine] = [lambda f, p: run_reference(f, p, {}), lambda f, p: run_engine(f, p)]


def paid_to(result: RunResult, member: int, bonus: str) -> int:
    p = result.payouts
    mask = (p.earner == member) & (p.bonus == BONUS_CODE[bonus])
    return int(p.amount[mask].sum())


def _line_company() -> Company:
    # Earner 0; below: Kat 90 PV (1), Robin 120 (2), Joseph 160 (3), Nia 110 (4), Omar 105 (5).
    pvs = [200, 90, 120, 160, 110, 105]
    return Company(parent=[-1, 0, 1, 2, 3, 4], kind=[2] * 6,
                   lines=[Line(i, pv * 100, pv * 100) for i, pv in enumerate(pvs)])


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
@pytest.mark.parametrize(("compression", "expected"), [("none", 1080), ("static", 2330),
                                                        ("dynamic", 2330)])
def test_unilevel_with_and_without_compression(engine: Engine, compression: str,
                                               expected: int) -> None:
    p = plan(bonuses={"unilevel": {"rates": [0.10, 0.05, 0.03], "compression": compression}})
    result = engine(_line_company().facts(), p)
    assert paid_to(result, 0, "unilevel") == expected
    skips = result.skips.rows()
    # Kat's own volume is not paid (she is inactive), and she is named as passed over.
    assert (BONUS_CODE["unilevel"], 1, 1, 0, 1, REASON_INACTIVE, -1) in skips
    if compression != "none":
        assert (BONUS_CODE["unilevel"], 1, 2, 1, 1, REASON_INACTIVE, 0) in skips


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_fast_start_without_roll_up(engine: Engine) -> None:
    joined = START
    company = Company(
        parent=[-1, 0, 1, 2], kind=[2, 2, 2, 2], joined_at=[0, 0, 0, joined],
        lines=[Line(0, 10000, 0), Line(2, 10000, 0),
               Line(3, 13200, 0, promotional=True, at=joined + 86400),
               Line(3, 7800, 0, promotional=True, at=joined + 20 * 86400),
               Line(3, 14700, 0, promotional=True, at=joined + 59 * 86400)],
    )
    p = plan(bonuses={"fast_start": {"rates": [0.20, 0.10], "window_days": 60}})
    result = engine(company.facts(), p)
    assert paid_to(result, 2, "fast_start") == 7140  # 26.40 + 15.60 + 29.40
    # Level-1 enroller 2 unqualified: the 20% is not rolled up; level 2 still gets its 10%.
    company.lines[1] = Line(2, 5000, 0)
    result = engine(company.facts(), p)
    assert paid_to(result, 2, "fast_start") == 0
    assert paid_to(result, 1, "fast_start") == 0  # member 1 has no PV: inactive too
    company.lines.append(Line(1, 10000, 0))
    result = engine(company.facts(), p)
    assert paid_to(result, 1, "fast_start") == 3570  # 10% of 357 PV


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_first_order_bonus_twenty_and_five_percent(engine: Engine) -> None:
    company = Company(parent=[-1, 0, 1], kind=[2, 2, 2], joined_at=[0, 0, START],
                      lines=[Line(0, 10000, 0), Line(1, 10000, 0),
                             Line(2, 10000, 10000, promotional=True, at=START + 3600)])
    p = plan(bonuses={"fast_start": {"rates": [0.20, 0.05], "volume": "cv"}})
    result = engine(company.facts(), p)
    assert (paid_to(result, 1, "fast_start"), paid_to(result, 0, "fast_start")) == (2000, 500)


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_leg_cap_counts_at_most_forty_percent_of_one_leg(engine: Engine) -> None:
    ranks = [{"name": "Member", "min_pv": 100},
             {"name": "Manager", "min_pv": 100, "min_gv": 4350, "leg_cap": 0.4}]
    # Earner 100 PV; one leg of 4,000 GV and one of 1,000: counted 1,740 + 1,000 + 100 < 4,350.
    company = Company(parent=[-1, 0, 0], kind=[2, 2, 2],
                      lines=[Line(0, 10000, 0), Line(1, 400000, 0), Line(2, 100000, 0)])
    result = engine(company.facts(), plan(ranks=ranks))
    assert result.paid_as[0] == 0 and result.gv[0] == 510000
    # Two more legs of 1,740 each: 1,740 + 1,000 + 1,740 + 100 ≥ 4,350.
    company.parent += [0]
    company.kind += [2]
    company.lines.append(Line(3, 174000, 0))
    result = engine(company.facts(), plan(ranks=ranks))
    assert result.paid_as[0] == 1


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_three_for_free_customer_referral_credit(engine: Engine) -> None:
    # Customer 2 referred customers 3-6, whose monthly orders are 100, 120, 150 and 80.
    company = Company(parent=[-1, 0, 0, 0, 0, 0, 0], kind=[2, 2, 1, 1, 1, 1, 1],
                      referrer=[-1, -1, -1, 2, 2, 2, 2],
                      lines=[Line(c, 0, 0, amount=a) for c, a in
                             ((3, 10000), (4, 12000), (5, 15000), (6, 8000))])
    p = plan(bonuses={"customer_referral": {"referrals": 3, "cap": 350}})
    result = engine(company.facts(), p)
    assert paid_to(result, 2, "customer_referral") == 12333


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_refund_in_the_same_period_pays_nothing_and_lowers_volume(engine: Engine) -> None:
    company = Company(parent=[-1, 0], kind=[2, 2], joined_at=[0, START],
                      lines=[Line(0, 10000, 0),
                             Line(1, 25000, 25000, promotional=True, at=START + 3600)],
                      refunds=[(1, 25000, 25000, 25000, START + 3600)])
    p = plan(bonuses={"fast_start": {"rates": [0.20], "volume": "cv"}})
    result = engine(company.facts(), p)
    assert paid_to(result, 0, "fast_start") == 0
    assert int(result.gv[0]) == 10000
    # A refund of an earlier period's order lowers this period's volume only.
    company.refunds = [(0, 5000, 0, 0, START - 86400)]
    result = engine(company.facts(), p)
    assert int(result.pv[0]) == 5000 and not bool(result.active[0])


def test_global_cap_scales_commissions_down_without_exceeding_it() -> None:
    company = _line_company()
    p = plan(bonuses={"unilevel": {"rates": [0.5, 0.4, 0.1], "compression": "none"}},
             cap={"max_share_of_cv": 0.1})
    facts = company.facts()
    for result in (run_reference(facts, p, {}), run_engine(facts, p)):
        assert result.cap_applied
        assert int(result.payouts.amount.sum()) <= result.cap_limit  # type: ignore[operator]
        assert result.cap_limit == int(np.round(facts.lines.cv.sum() * 0.1))
    _ = END


@pytest.mark.parametrize("engine", ENGINES, ids=["reference", "vectorised"])
def test_stair_step_pays_the_difference_and_breakaway_pays_generations(engine: Engine) -> None:
    ranks = [{"name": "A", "min_pv": 100},
             {"name": "B", "min_pv": 300, "min_gv": 500},
             {"name": "C", "min_pv": 500, "min_gv": 2000}]
    # Chain 0 (C) > 1 (B) > 2 (A) > 3 (C, breaks away) > 4 (B); PV = CV.
    company = Company(parent=[-1, 0, 1, 2, 3], kind=[2] * 5,
                      lines=[Line(0, 60000, 60000), Line(1, 40000, 40000),
                             Line(2, 10000, 10000), Line(3, 100000, 100000),
                             Line(4, 100000, 100000)])
    p = plan(ranks=ranks, bonuses={"stair_step": {
        "rates": {"A": 0.02, "B": 0.05, "C": 0.08}, "breakaway_rank": "C",
        "generation_rates": [0.03]}})
    result = engine(company.facts(), p)
    assert result.paid_as.tolist() == [2, 1, 0, 2, 1]
    # 2 (A): 2% of own 100. 1 (B): 5% of own 400, 3% more on 2's 100.
    assert paid_to(result, 2, "stair_step") == 200
    assert paid_to(result, 1, "stair_step") == 2000 + 300
    # 0 (C): 8% of own 600, 3% more on 1's 400 and on 2's 100; nothing on 3 and 4 (broke away).
    assert paid_to(result, 0, "stair_step") == 4800 + 1200 + 300
    # 3 (C): 8% of own 1,000 and 3% more on 4's 1,000; 4 (B): 5% of own 1,000.
    assert paid_to(result, 3, "stair_step") == 8000 + 3000
    assert paid_to(result, 4, "stair_step") == 5000
    # The first breakaway generation above 3 is 0: 3% of 3's group of 2,000.
    assert paid_to(result, 0, "generation") == 6000
