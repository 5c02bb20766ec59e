"""Binary bonus: published examples of weak-leg pay with carry-over and of pairing, reproduced
to the cent through both engines; then hand-worked cases of the plan's other rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from patronage.compensation.core.bonuses.binary import CARRY_LEFT, CARRY_RIGHT
from patronage.compensation.core.codes import REASON_INACTIVE, REASON_RANK_DEPTH
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE, RunResult
from patronage.errors import Problems
from patronage.facts import PeriodFacts
from tests.unit.compensation.builders import Company, Line, plan

Engine = Callable[[PeriodFacts, Any], RunResult]
ENGINES: list[Engine] = [lambda f, p: run_reference(f, p, {}), lambda f, p: run_engine(f, p)]
IDS = ["reference", "vectorised"]
L, R = 0, 1

RANKS = [{"name": "Member", "min_pv": 0}]


def binary_plan(**section: Any) -> Any:
    return plan(active={"min_pv": 0}, ranks=RANKS, bonuses={"binary": section})


def binary_of(result: RunResult, member: int) -> tuple[int, int]:
    """(weak-leg volume paired, amount) of ``member``'s binary line (0, 0: none)."""
    p = result.payouts
    for earner, bonus, volume, amount in zip(p.earner.tolist(), p.bonus.tolist(),
                                             p.volume.tolist(), p.amount.tolist(), strict=True):
        if earner == member and bonus == BONUS_CODE["binary"]:
            return volume, amount
    return 0, 0


def carry_of(result: RunResult, member: int) -> tuple[int, int]:
    return (int(result.carry[CARRY_LEFT][member]), int(result.carry[CARRY_RIGHT][member]))


def _three(left_pv: int, right_pv: int, **extra: Any) -> Company:
    """A distributor (0) with one distributor placed on each side, each buying ``*_pv``
    points (1 point of CV per point)."""
    return Company(parent=[-1, 0, 0], kind=[2, 2, 2],
                   lines=[Line(1, left_pv * 100, left_pv * 100),
                          Line(2, right_pv * 100, right_pv * 100)],
                   placement=[(-1, L), (0, L), (0, R)], **extra)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_weak_leg_ten_percent_with_carry_over_published(engine: Engine) -> None:
    """mylistbuilders.com, "Binary MLM Plan Calculation: How It Works"
    (https://mylistbuilders.com/binary-mlm-software-binary-mlm-plan-calculation-how-it-works/),
    "Commission Based On Weak Leg", 10% of the weak leg:

    - B recruits D on the left and E on the right; D earns 100 PV, E 200 PV: 100 PV of each
      leg is matched, B earns 10% of 100 = 10 USD and the remaining 100 PV is carried forward
      on B's right leg.
    - C recruits F on the left and G on the right, 100 PV each: 10% of 100 = 10 USD, no carry.
    - "left leg 500 points, right 1000: 10% of 500", the right leg carries the rest (500).
    B and C are checked as their own trees (the page's A is not reproduced).
    """
    p = binary_plan(rate=0.10)
    b = engine(_three(100, 200).facts(), p)
    assert binary_of(b, 0) == (10000, 1000)  # 100 points paired, USD 10.00
    assert carry_of(b, 0) == (0, 10000)  # 100 points carried on the right
    c = engine(_three(100, 100).facts(), p)
    assert binary_of(c, 0) == (10000, 1000)
    assert carry_of(c, 0) == (0, 0)
    big = engine(_three(500, 1000).facts(), p)
    assert binary_of(big, 0) == (50000, 5000)  # 10% of 500 = USD 50.00
    assert carry_of(big, 0) == (0, 50000)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_carry_over_is_paired_the_next_period(engine: Engine) -> None:
    """Hand-worked, continuing B above: the next period D buys 50 PV and E nothing. B's legs
    are left 0 + 50 = 50, right 100 carried + 0 = 100: 50 paired, 10% = USD 5.00, and 50
    carried on the right."""
    p = binary_plan(rate=0.10)
    first = engine(_three(100, 200).facts(), p)
    carried = {k: v.tolist() for k, v in first.carry.items()}
    second = engine(_three(50, 0, carry_in=carried).facts(), p)
    assert binary_of(second, 0) == (5000, 500)
    assert carry_of(second, 0) == (0, 5000)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_two_to_one_cycles_published(engine: Engine) -> None:
    """Chuck Holmes, "MLM Binary Compensation Plan Overview" (slides,
    https://www.slideshare.net/slideshow/mlm-binary-compensation-plan-overview/150442112):
    "once you do 200 points in one leg and 100 points of volume in the other leg, you have a
    cycle and earn a commission". Hand-worked on it, with USD 25 a cycle: the right leg 700
    points, the left 250 → min(700 // 200, 250 // 100) = 2 cycles = USD 50.00; the right leg
    carries 700 − 400 = 300, the left 250 − 200 = 50. The same volumes the other way round
    (1:2 written as the strong leg first) pair the same."""
    p = binary_plan(unit=100, ratio=[2, 1], pair_amount=25)
    result = engine(_three(250, 700).facts(), p)
    assert binary_of(result, 0) == (20000, 2500 * 2)
    assert carry_of(result, 0) == (5000, 30000)
    mirrored = engine(_three(700, 250).facts(), p)
    assert binary_of(mirrored, 0) == (20000, 5000)
    assert carry_of(mirrored, 0) == (30000, 5000)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_pairs_paid_by_percentage_and_flat_published(engine: Engine) -> None:
    """Infinite MLM Software, "Binary Plan Calculation"
    (https://infinitemlmsoftware.com/binary-plan-calculation-compensation.php): "If the binary
    bonus is 10% of a $100 package, the payout per pair is $10. If 4 pairs are formed, the
    total payout is $40"; flat: "If the binary bonus is $100 and there are 5 pairs, the payout
    will be $500". A pair here is one $100 package (100 points) on each side: legs of 4 and 5
    packages form 4 pairs (one package carried on the right); 5 and 5 form 5 pairs."""
    percentage = binary_plan(unit=100, rate=0.10)
    four = engine(_three(400, 500).facts(), percentage)
    assert binary_of(four, 0) == (40000, 4000)  # USD 40.00
    assert carry_of(four, 0) == (0, 10000)
    flat = binary_plan(unit=100, pair_amount=100)
    five = engine(_three(500, 500).facts(), flat)
    assert binary_of(five, 0) == (50000, 50000)  # USD 500.00
    assert carry_of(five, 0) == (0, 0)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_cap_carry_cap_and_flush_of_the_weak_leg(engine: Engine) -> None:
    """Hand-worked: legs 1 000 and 2 500 points, 10% of the weak leg = USD 100.00, capped at
    USD 60.00; after pairing the strong leg has 1 500 left, carried at most 800; the weak leg
    is flushed."""
    p = binary_plan(rate=0.10, cap=60, carry_cap=800, flush_weak=True)
    result = engine(_three(1000, 2500).facts(), p)
    assert binary_of(result, 0) == (100000, 6000)
    assert carry_of(result, 0) == (0, 80000)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
@pytest.mark.parametrize(("flush", "carried"), [(False, (20000, 30000)), (True, (0, 0))])
def test_inactive_member_pairs_nothing(engine: Engine, flush: bool,
                                       carried: tuple[int, int]) -> None:
    """Hand-worked: with the active minimum at 50 PV, member 0 (no purchase) is inactive: their
    legs of 200 and 300 points are not paired; they are carried whole, or flushed when the
    plan flushes inactive members; the skip names the reason."""
    p = plan(active={"min_pv": 50}, ranks=[{"name": "Member", "min_pv": 50}],
             bonuses={"binary": {"rate": 0.10, "flush_inactive": flush}})
    result = engine(_three(200, 300).facts(), p)
    assert binary_of(result, 0) == (0, 0)
    assert carry_of(result, 0) == carried
    assert (BONUS_CODE["binary"], 1, 0, 0, 0, REASON_INACTIVE, -1) in result.skips.rows()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_min_rank_and_deep_legs(engine: Engine) -> None:
    """Hand-worked: 0 has 1 on the left, 2 on the right, 3 under 1 (right) and 4 under 3
    (left); each buys 100 points. 0's legs: left 1+3+4 = 300, right 100 → 10% of 100 = 10.00.
    1 has left 0, right 200: nothing. 3 has left 100, right 0: nothing. With min_rank "Lead"
    (100 PV and 300 GV) only 0 qualifies; member 3 would pair nothing anyway."""
    company = Company(parent=[-1, 0, 0, 1, 3], kind=[2] * 5,
                      lines=[Line(i, 10000, 10000) for i in range(5)],
                      placement=[(-1, L), (0, L), (0, R), (1, R), (3, L)])
    p = plan(active={"min_pv": 0},
             ranks=[{"name": "Member", "min_pv": 0}, {"name": "Lead", "min_pv": 100,
                                                       "min_gv": 300}],
             bonuses={"binary": {"rate": 0.10, "min_rank": "Lead"}})
    result = engine(company.facts(), p)
    assert binary_of(result, 0) == (10000, 1000)
    assert carry_of(result, 0) == (20000, 0)
    assert carry_of(result, 1) == (0, 20000)
    assert result.payouts.size == 1
    assert (BONUS_CODE["binary"], 1, 1, 0, 1, REASON_RANK_DEPTH, -1) not in result.skips.rows()


def test_plan_checks_name_the_key() -> None:
    with pytest.raises(Problems) as raised:
        binary_plan(unit=0, min_rank="Nobody")
    places = [p.place for p in raised.value.problems]
    assert "test-plan: bonuses.binary.unit" in places
    assert "test-plan: bonuses.binary" in places
    assert "test-plan: bonuses.binary.min_rank" in places
    with pytest.raises(Problems):
        binary_plan(rate=0.1, ratio=[0, 1])
