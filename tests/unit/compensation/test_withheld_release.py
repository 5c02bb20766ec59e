"""The compliance rule's release of earlier withheld amounts, on companies small enough to
work by hand; both engines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from patronage.compensation.core.compliance import Withheld
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE
from tests.unit.compensation.builders import Company, Line, plan

RELEASE = BONUS_CODE["withheld_release"]


def _plan(within: int, cap: float | None = None) -> Any:
    extra: dict[str, Any] = {}
    if cap is not None:
        extra["cap"] = {"max_share_of_cv": cap}
    return plan(bonuses={"unilevel": {"rates": [0.1]}},
                ranks=[{"name": "Member", "min_pv": 100, "unilevel_depth": 1}],
                compliance={"min_team_customer_share": 0.5,
                            "release_withheld_within": within}, **extra)


def _company(customer_cv: int) -> Company:
    """Ann (0) sponsors Bob (1); Ann's customer Cy (2) buys ``customer_cv``; Ann and Bob buy
    100 points (CV 100.00) each."""
    lines = [Line(0, 10000, 10000), Line(1, 10000, 10000)]
    if customer_cv:
        lines.append(Line(2, customer_cv, customer_cv))
    return Company([-1, 0, 0], [2, 2, 0], lines=lines)


def _released(company: Company, p: Any, withheld: Withheld) -> list[tuple[int, ...]]:
    facts = company.facts()
    fast = run_engine(facts, p, None, None, withheld)
    ref = run_reference(facts, p, {}, None, withheld)
    assert fast.payouts.rows() == ref.payouts.rows()
    return [row for row in ref.payouts.rows() if row[1] == RELEASE]


def _withheld(*rows: tuple[int, int, int]) -> Withheld:
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    return Withheld(*(np.array(c, dtype=np.int64) for c in cols))


def test_a_team_meeting_the_rule_gets_each_earlier_periods_amounts_in_one_line() -> None:
    # Ann's team: 200.00 own + 300.00 from Cy: 60% from customers.
    held = _withheld((0, 0, 700), (0, 0, 300), (0, 1, 250), (1, 0, 99))
    rows = _released(_company(30000), _plan(2), held)
    # (earner, bonus, source kind, source, level, volume, rate, amount): October's two lines
    # summed, September's apart; Bob's team (no customers) is below the rule: nothing.
    assert rows == [(0, RELEASE, 1, 0, 1, 1000, 0, 1000), (0, RELEASE, 1, 0, 2, 250, 0, 250)]


@pytest.mark.parametrize(("customer_cv", "within", "expected"), [
    (10000, 2, 0),   # 1 of 3 from customers: still below the rule
    (30000, 0, 0),   # the plan releases nothing
    (30000, 1, 1),   # only the last period's amount is within one period
])
def test_nothing_is_released_below_the_rule_or_beyond_the_plans_periods(
        customer_cv: int, within: int, expected: int) -> None:
    held = _withheld((0, 0, 500), (0, 1, 500))
    assert len(_released(_company(customer_cv), _plan(within), held)) == expected


def test_a_team_without_volume_releases_nothing() -> None:
    quiet = Company([-1, 0], [2, 2], lines=[Line(1, 10000, 10000)])
    # Ann's team has Bob's volume only: below the rule; with no volume at all, nothing either.
    assert _released(quiet, _plan(3), _withheld((0, 0, 500))) == []
    empty = Company([-1, 0], [2, 2])
    assert _released(empty, _plan(3), _withheld((0, 0, 500))) == []


def test_the_cap_does_not_scale_a_release() -> None:
    # A cap of 1% of 500.00 CV = 5.00 scales Ann's unilevel, never the 80.00 released.
    rows = _released(_company(30000), _plan(1, cap=0.01), _withheld((0, 0, 8000)))
    assert [r[-1] for r in rows] == [8000]
