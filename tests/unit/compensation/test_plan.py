"""Plan files: the shipped example is valid and complete; bad plans list every problem."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from patronage.compensation.core.plan import KNOWN_BONUSES, default_plan_path, load_plan, parse_plan
from patronage.demo.build import with_leadership_bonuses
from patronage.errors import Problems

ROOT = Path(__file__).resolve().parents[3]


def test_example_plans_use_every_bonus_and_match_the_copies_at_the_root() -> None:
    plan = load_plan(default_plan_path())
    # The leadership bonuses are shown by the demo's later plan version (the example plan's
    # figures stay as they were).
    leading = parse_plan(tomllib.loads(with_leadership_bonuses(default_plan_path().read_text())))
    assert leading.paid_as is not None and leading.paid_as.grace_periods == 1
    hybrid = load_plan(default_plan_path().with_name("binary-hybrid.toml"))
    assert plan.cap is not None and hybrid.cap is not None
    assert (ROOT / "plans" / "example.toml").read_text() == default_plan_path().read_text()


def test_the_shipped_plans_use_every_bonus_and_match_their_copies_at_the_root() -> None:
    shipped = sorted(default_plan_path().parent.glob("*.toml"))
    assert len(shipped) >= 2
    used: set[str] = set()
    for path in shipped:
        plan = load_plan(path)
        used |= {b for b in KNOWN_BONUSES if getattr(plan.bonuses, b) is not None}
        assert (ROOT / "plans" / path.name).read_text() == path.read_text()
    # The leadership bonuses are in the demo's later plan version.
    leading = parse_plan(tomllib.loads(with_leadership_bonuses(default_plan_path().read_text())))
    used |= {b for b in KNOWN_BONUSES if getattr(leading.bonuses, b) is not None}
    assert used == set(KNOWN_BONUSES)


def test_leaders_plan_pays_rates_by_rank_and_matching() -> None:
    plan = load_plan(default_plan_path().parent / "leaders.toml")
    assert [r.unilevel_depth for r in plan.ranks] == [2, 3, 5, 6]
    assert [r.unilevel_infinity for r in plan.ranks] == [0, 100, 0, 200]
    assert plan.bonuses.section("matching") is not None


def test_contradictions_are_all_listed_with_their_key_paths() -> None:
    data = {
        "plan": {"name": "bad", "version": "x"},
        "active": {"min_pv": 100},
        "ranks": [
            {"name": "Gold", "min_pv": 200, "min_gv": 1000, "unilevel_depth": 4},
            {"name": "Silver", "min_pv": 100, "min_gv": 500,
             "legs_with_rank": {"rank": "Platinum", "count": 1}},
        ],
        "bonuses": {
            "unilevel": {"rates": [0.6, 0.5], "compression": "sideways"},
            "fast_start": {"rates": [1.5]},
            "binary_matching": {"rates": [0.1]},
        },
    }
    with pytest.raises(Problems) as caught:
        parse_plan(data, "bad.toml")
    text = str(caught.value)
    for expected in (
        "bad.toml: bonuses.binary_matching: unknown bonus type",
        "bad.toml: bonuses.unilevel.compression: Input should be 'none', 'static' or 'dynamic'",
        "bad.toml: bonuses.fast_start.rates: 1.5 is not between 0 and 1",
    ):
        assert expected in text, text
    data["bonuses"] = {"unilevel": {"rates": [0.6, 0.5]}}
    with pytest.raises(Problems) as caught:
        parse_plan(data, "bad.toml")
    text = str(caught.value)
    for expected in (
        "bad.toml: ranks[1].min_pv: 'Silver' asks less than the rank below it ('Gold')",
        "bad.toml: ranks[1].legs_with_rank.rank: unknown rank 'Platinum'",
        "bad.toml: ranks[0].unilevel_depth: 4 levels but bonuses.unilevel.rates gives only 2",
        "bad.toml: bonuses.unilevel.rates: rates add up to more than 100%",
    ):
        assert expected in text, text


def _example(**changes: dict[str, object]) -> dict[str, object]:
    data = tomllib.loads(default_plan_path().read_text(encoding="utf-8"))
    for name, section in changes.items():
        data["bonuses"][name] = {**data["bonuses"].get(name, {}), **section}
    return data


def test_fast_start_and_binary_may_be_paid_by_the_week_the_rest_by_the_month() -> None:
    plan = parse_plan(_example(fast_start={"period": "week"}))
    assert plan.weekly_bonuses() == ["fast_start"]
    week = [b.name for b, _ in plan.for_calendar("week").bonuses.present()]
    month = [b.name for b, _ in plan.for_calendar("month").bonuses.present()]
    assert week == ["fast_start"]
    assert "fast_start" not in month and "unilevel" in month
    assert parse_plan(_example(unilevel={"period": "month"})).weekly_bonuses() == []
    with pytest.raises(Problems) as caught:
        parse_plan(_example(unilevel={"period": "week"}, fast_start={"period": "fortnight"}),
                   "p.toml")
    reasons = {p.place: p.reason for p in caught.value.problems}
    assert reasons["p.toml: bonuses.unilevel.period"].startswith(
        "'week': unilevel is paid by the month only (it needs the month's whole volume); "
        "only fast_start and binary can be paid by the week")
    assert reasons["p.toml: bonuses.fast_start.period"] == "Input should be 'month' or 'week'"


def test_a_monthly_matching_bonus_cannot_match_a_weekly_bonus() -> None:
    data = _example(fast_start={"period": "week"})
    data["bonuses"]["matching"] = {"bonuses": ["fast_start"],
                                   "rates": {data["ranks"][0]["name"]: [0.1]}}
    with pytest.raises(Problems) as caught:
        parse_plan(data, "p.toml")
    assert [p.place for p in caught.value.problems] == ["p.toml: bonuses.matching.bonuses[0]"]
    assert "'fast_start' is paid by the week" in caught.value.problems[0].reason
