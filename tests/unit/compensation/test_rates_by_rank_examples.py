"""Worked examples of rates by rank, unilevel infinity, the generation bonus, the matching bonus
and the customer first-order bonus, through both engines, and their plan checks.

Published examples cite their source; the others are worked by hand, the arithmetic in the
docstring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from patronage.compensation.core.bonuses import BONUS_TYPES, Refunded
from patronage.compensation.core.codes import REASON_NO_RATE
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE, RunResult
from patronage.errors import Problems
from patronage.facts import PeriodFacts
from tests.unit.compensation.builders import START, Company, Line, plan

Engine = Callable[[PeriodFacts, Any], RunResult]
ENGINES: list[Engine] = [lambda f, p: run_reference(f, p, {}), lambda f, p: run_engine(f, p)]
IDS = ["reference", "vectorised"]


def paid(result: RunResult, member: int, line: str) -> int:
    p = result.payouts
    return int(p.amount[(p.earner == member) & (p.bonus == BONUS_CODE[line])].sum())


def lines_of(result: RunResult, line: str) -> list[tuple[int, ...]]:
    """(earner, source, level, volume, rate, amount) of each line of ``line``."""
    return sorted((r[0], r[3], r[4], r[5], r[6], r[7]) for r in result.payouts.rows()
                  if r[1] == BONUS_CODE[line])


def chain(pvs: list[int], cvs: list[int]) -> Company:
    """Members 0 → 1 → 2 → ... each sponsoring the next, with those PV and CV (points)."""
    n = len(pvs)
    return Company(parent=[-1, *range(n - 1)], kind=[2] * n,
                   lines=[Line(i, pv * 100, cv * 100) for i, (pv, cv) in
                          enumerate(zip(pvs, cvs, strict=True))])


RANKS_A_B = [
    {"name": "A", "min_pv": 100, "unilevel_rates": [0.05, 0.08, 0.10, 0.10, 0.05]},
    {"name": "B", "min_pv": 200, "unilevel_rates": [0.05, 0.08, 0.10, 0.10, 0.05, 0.03, 0.02]},
]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_rank_by_rank_unilevel_table(engine: Engine) -> None:
    """Hand-worked (no published example with figures found). Rank A pays 5, 8, 10, 10, 5% on
    levels 1-5, rank B also 3 and 2% on levels 6 and 7. Member 0 heads a line of seven
    members (1 to 7, each paid as A) with 100.00 CV each; member 0's own order has no CV.

    Paid as A, member 0 earns 5.00 + 8.00 + 10.00 + 10.00 + 5.00 = 38.00 (levels 6 and 7 are
    beyond A's table); paid as B (200 PV), 38.00 + 3.00 + 2.00 = 43.00. Member 3 (A, four
    levels below: 4 to 7) earns 5.00 + 8.00 + 10.00 + 10.00 = 33.00. (No compression: with
    dynamic compression member 0 would also take level 6 of member 7's volume, which member 1,
    paid as A, cannot be paid.)"""
    ranks_only_a = chain([100] * 8, [0] + [100] * 7)
    p = plan(ranks=RANKS_A_B, bonuses={"unilevel": {"compression": "none"}})
    result = engine(ranks_only_a.facts(), p)
    assert paid(result, 0, "unilevel") == 3800
    assert paid(result, 3, "unilevel") == 3300
    as_b = chain([200] + [100] * 7, [0] + [100] * 7)
    result = engine(as_b.facts(), p)
    assert paid(result, 0, "unilevel") == 4300
    assert [line[4] for line in lines_of(result, "unilevel") if line[0] == 0] == [
        500, 800, 1000, 1000, 500, 300, 200]  # by source 1 to 7, level 1 to 7


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_ranks_without_own_rates_use_the_sections(engine: Engine) -> None:
    """Rank A keeps the section's 10% / 5%; rank B pays 20% on level 1 only. A line 0 (B) → 1
    (A) → 2 (A) with 100.00 CV each below 0: 0 earns 20% of 1's = 20.00 and nothing of 2's
    (B pays one level); 1 earns 10% of 2's = 10.00."""
    p = plan(ranks=[{"name": "A", "min_pv": 100, "unilevel_depth": 2},
                    {"name": "B", "min_pv": 200, "unilevel_rates": [0.20]}],
             bonuses={"unilevel": {"rates": [0.10, 0.05]}})
    result = engine(chain([200, 100, 100], [0, 100, 100]).facts(), p)
    assert (paid(result, 0, "unilevel"), paid(result, 1, "unilevel")) == (2000, 1000)


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_infinity_past_the_last_level_down_to_the_next_equal_rank(engine: Engine) -> None:
    """Hand-worked. A pays 5, 8% on two levels; B the same and 2% infinity. The line is
    0 (B) → 1 (A) → 2 (A) → 3 (A) → 4 (B) → 5 (A), 100.00 CV each below 0.

    Member 0 earns unilevel 5.00 (1) + 8.00 (2), and infinity 2% of 3's 100.00 = 2.00: 3 is
    past 0's two levels and nobody from 3 up to 0 is paid as B. Nothing of 4 (a B: the
    infinity stops there) nor of 5 (below 4). Member 4 earns no infinity on 5, whose level 1
    paid 4 already. Total for 0: 15.00."""
    ranks = [{"name": "A", "min_pv": 100, "unilevel_rates": [0.05, 0.08]},
             {"name": "B", "min_pv": 200, "unilevel_rates": [0.05, 0.08],
              "unilevel_infinity": 0.02}]
    p = plan(ranks=ranks, bonuses={"unilevel": {}})
    result = engine(chain([200, 100, 100, 100, 200, 100], [0] + [100] * 5).facts(), p)
    assert lines_of(result, "unilevel_infinity") == [(0, 3, 0, 10000, 200, 200)]
    assert paid(result, 0, "unilevel") + paid(result, 0, "unilevel_infinity") == 1500


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_generation_bonus_by_generations_of_a_rank(engine: Engine) -> None:
    """Hand-worked. Generations end at each Senior Sales Director (SSD) or higher; SSD earns
    1% on generation 1, District Leader 4% on generation 1 and 3% on generation 2. The line
    0 (District Leader) → 1 → 2 (SSD) → 3 → 4 (SSD) → 5, 1,000.00 CV each below 0.

    Member 0: generation 1 is 1 and 2 (2 ends it): 4% × 2 × 1,000.00 = 80.00; generation 2
    is 3 and 4: 3% × 2,000.00 = 60.00; 5 is generation 3, not paid: 140.00. Member 2: 1% of
    3's and 4's = 20.00 (5 is their generation 2, where an SSD earns nothing: passed over).
    Member 4: 1% of 5's = 10.00."""
    ranks = [{"name": "Member", "min_pv": 100}, {"name": "SSD", "min_pv": 200},
             {"name": "District Leader", "min_pv": 400}]
    p = plan(ranks=ranks, bonuses={"unilevel_generation": {
        "rank": "SSD", "rates": {"SSD": [0.01], "District Leader": [0.04, 0.03]}}})
    company = chain([400, 100, 200, 100, 200, 100], [0] + [1000] * 5)
    result = engine(company.facts(), p)
    assert [paid(result, m, "unilevel_generation") for m in (0, 2, 4)] == [14000, 2000, 1000]
    assert (BONUS_CODE["unilevel_generation"], 1, 5, 2, 2, REASON_NO_RATE, -1) in \
        result.skips.rows()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_matching_bonus_twenty_percent_of_a_sponsored_leader(engine: Engine) -> None:
    """Published: https://connect-13.gitbook.io/connect/connect-referral-program/matching-bonus
    ("Real-life example"): you are paid at a rank matching 20%; X, whom you personally
    enrolled, earns 5,000 in the matched bonus; you earn 20% × 5,000 = 1,000.

    Here X (1) earns 5,000.00 of unilevel (10% of member 2's 50,000.00 CV); the rank pays one
    unilevel level, so member 0 earns no unilevel on 2, and 20% of X's 5,000.00 as matching."""
    p = plan(ranks=[{"name": "C4", "min_pv": 100, "unilevel_rates": [0.10]}],
             bonuses={"unilevel": {},
                      "matching": {"bonuses": ["unilevel"], "rates": {"C4": [0.20]}}})
    company = chain([100, 100, 100], [0, 0, 50_000])
    result = engine(company.facts(), p)
    assert paid(result, 1, "unilevel") == 500_000
    assert lines_of(result, "matching") == [(0, 1, 1, 500_000, 2000, 100_000)]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_generational_match_by_rank(engine: Engine) -> None:
    """Published: https://www.kuveraglobal.com/opportunity.html (Generational Match Bonus,
    "EXAMPLE"): Joe, paid as Ambassador, is matched two generations, a generation ending at
    each Global Executive. Joe sponsored Mary; Larry (a Global Executive) closes Joe's first
    generation; the second starts with Susan. Mary and Susan earned 100, Larry, Sharon and
    Steve 200; at 3% Joe earns 3 on Mary and on Susan, 6 on each of the others: 24.

    The tree: Joe (0) → Mary (1) → Larry (2) → Susan (3) → Sharon (4), Steve (5); each earns
    10% unilevel on one personal member below them (6 to 10) with 1,000.00 or 2,000.00 CV."""
    ranks = [{"name": "Member", "min_pv": 100, "unilevel_rates": [0.10]},
             {"name": "Global Executive", "min_pv": 200, "unilevel_rates": [0.10]},
             {"name": "Ambassador", "min_pv": 300, "unilevel_rates": [0.10]}]
    earns = {1: 1000, 2: 2000, 3: 1000, 4: 2000, 5: 2000}  # CV below, in points
    company = Company(parent=[-1, 0, 1, 2, 3, 3, 1, 2, 3, 4, 5], kind=[2] * 11,
                      lines=[Line(0, 30000, 0), Line(1, 10000, 0), Line(2, 20000, 0),
                             Line(3, 10000, 0), Line(4, 10000, 0), Line(5, 10000, 0)]
                      + [Line(6 + j, 10000, earns[m] * 100) for j, m in enumerate(earns)])
    p = plan(ranks=ranks, bonuses={"unilevel": {}, "matching": {
        "bonuses": ["unilevel"], "generations_of": "Global Executive",
        "rates": {"Ambassador": [0.03, 0.03]}}})
    result = engine(company.facts(), p)
    assert [paid(result, m, "unilevel") for m in earns] == [10000, 20000, 10000, 20000, 20000]
    assert paid(result, 0, "matching") == 2400
    assert [(line[1], line[2], line[5]) for line in lines_of(result, "matching")
            if line[0] == 0] == [(1, 1, 300), (2, 1, 600), (3, 2, 300), (4, 2, 600),
                                 (5, 2, 600)]
    # Larry closes Joe's first generation: he is generation 1 of Susan, Sharon and Steve,
    # but a Global Executive has no matching rate: passed over.
    assert (BONUS_CODE["matching"], 1, 3, 1, 2, REASON_NO_RATE, -1) in result.skips.rows()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_customer_first_orders(engine: Engine) -> None:
    """Hand-worked. 20% of a new customer's first two orders within 30 days, to the owner.
    Customer 1 of distributor 0 joined this period and ordered 50.00, 30.00 and 40.00: the
    owner earns 10.00 + 6.00 = 16.00; the third order is not a first order. Customer 2 joined
    before the period: their orders here are not their first."""
    company = Company(parent=[-1, 0, 0], kind=[2, 0, 0], joined_at=[0, START, START - 86400],
                      lines=[Line(0, 10000, 0),
                             Line(1, 0, 0, amount=5000, order=11, at=START + 3600),
                             Line(1, 0, 0, amount=3000, order=12, at=START + 2 * 86400),
                             Line(1, 0, 0, amount=4000, order=13, at=START + 3 * 86400),
                             Line(2, 0, 0, amount=9000, order=14, at=START + 3600)])
    p = plan(bonuses={"customer_first_order": {"rate": 0.20, "orders": 2, "window_days": 30}})
    result = engine(company.facts(), p)
    assert lines_of(result, "customer_first_order") == [(0, 11, 0, 5000, 2000, 1000),
                                                       (0, 12, 0, 3000, 2000, 600)]


def test_first_order_bonus_is_clawed_back_by_the_refunded_amount() -> None:
    bonus = BONUS_TYPES.of_line("customer_first_order")
    section = plan(bonuses={"customer_first_order": {"rate": 0.2, "window_days": 30}}
                   ).bonuses.section("customer_first_order")
    assert "order" in bonus.clawed_sources
    assert bonus.clawback_base(section, Refunded(100, 200, 2500, "consumption")) == 2500
    assert "customer_first_order" in BONUS_TYPES.clawed_lines("order")


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_stair_step_breakaway_generations_by_rank(engine: Engine) -> None:
    """Hand-worked (the stair-step breakaway described at
    https://engineeredlifestyles.com/network-marketing/stair-step-compensation-plan/ gives no
    figures for generations by rank). Ranks by PV alone: A 100, B 300, C 500; B is the
    breakaway rank. A B earns 3% on one breakaway generation; a C 3% on generation 1 and 2% on
    generation 2. The line 0 (C, 600.00 CV) → 1 (B, 400.00) → 2 (B, 300.00) → 3 (B, 300.00):
    everyone breaks away, so each group is the member's own CV.

    3's group (300.00): generation 1 is 2 (B): 3% = 9.00; generation 2 is 1, a B, who earns
    nothing that deep: passed over. 2's group (300.00): 1 (B) 3% = 9.00; 0 (C) generation 2,
    2% = 6.00. 1's group (400.00): 0 (C) 3% = 12.00. So 0 earns 18.00, 1 9.00, 2 9.00, 3
    nothing. With one list [3%, 2%] for every rank, 1 would also earn 2% of 3's group: 6.00."""
    ranks = [{"name": "A", "min_pv": 100}, {"name": "B", "min_pv": 300},
             {"name": "C", "min_pv": 500}]
    stair = {"rates": {"A": 0.02, "B": 0.05, "C": 0.05}, "breakaway_rank": "B"}
    company = chain([600, 400, 300, 300], [600, 400, 300, 300])
    p = plan(ranks=ranks, bonuses={"stair_step": {
        **stair, "generation_rates_by_rank": {"B": [0.03], "C": [0.03, 0.02]}}})
    result = engine(company.facts(), p)
    assert result.paid_as.tolist() == [2, 1, 1, 1]
    assert lines_of(result, "generation") == [
        (0, 1, 1, 40000, 300, 1200), (0, 2, 2, 30000, 200, 600),
        (1, 2, 1, 30000, 300, 900), (2, 3, 1, 30000, 300, 900)]
    assert (BONUS_CODE["generation"], 1, 3, 2, 1, REASON_NO_RATE, -1) in result.skips.rows()
    flat = engine(company.facts(), plan(ranks=ranks, bonuses={"stair_step": {
        **stair, "generation_rates": [0.03, 0.02]}}))
    assert paid(flat, 1, "generation") == 900 + 600


def test_stair_step_generations_by_rank_checks() -> None:
    ranks = [{"name": "A", "min_pv": 100}, {"name": "B", "min_pv": 300}]
    text = _problems(ranks=ranks, bonuses={"stair_step": {
        "rates": {"A": 0.02, "B": 0.6}, "breakaway_rank": "B", "generation_rates": [0.01],
        "generation_rates_by_rank": {"A": [0.01], "Z": [0.01], "B": [0.3, 0.2]}}})
    for expected in (
        "bonuses.stair_step.generation_rates_by_rank.Z: unknown rank",
        "bonuses.stair_step.generation_rates_by_rank.A: below the breakaway rank 'B': a member "
        "paid as it never earns generations",
        "bonuses.stair_step.generation_rates_by_rank: give generation_rates or "
        "generation_rates_by_rank, not both",
        "bonuses.stair_step: rates add up to more than 100%",
    ):
        assert expected in text, text
    text = _problems(ranks=ranks, bonuses={"stair_step": {
        "rates": {"A": 0.02}, "generation_rates_by_rank": {"B": [0.01]}}})
    assert "bonuses.stair_step.generation_rates_by_rank: generations need a breakaway_rank" \
        in text, text
    text = _problems(ranks=ranks, bonuses={"stair_step": {
        "rates": {"A": 0.02}, "breakaway_rank": "B", "generation_rates_by_rank": [0.01]}})
    assert "rank name = [generation 1 rate, ...]" in text, text


def test_the_explanations_name_the_new_lines() -> None:
    assert BONUS_TYPES.of_line("generation").label("generation", 2) == \
        "breakaway generation 2"
    assert BONUS_TYPES.of_line("matching").label("matching", 2) == \
        "matching bonus on the bonuses earned, generation 2"
    assert BONUS_TYPES.of_line("unilevel_generation").label("unilevel_generation", 1) == \
        "generation bonus, generation 1"
    assert BONUS_TYPES.of_line("unilevel_infinity").label("unilevel_infinity", 0) == \
        "unilevel infinity"


def _problems(**overrides: Any) -> str:
    with pytest.raises(Problems) as caught:
        plan(**overrides)
    return str(caught.value)


def test_plan_checks_name_the_key_and_the_reason() -> None:
    text = _problems(ranks=[{"name": "A", "min_pv": 100, "unilevel_rates": [0.6, 0.6]}],
                     bonuses={"unilevel": {},
                              "matching": {"bonuses": ["customer_first_order"],
                                           "rates": {"Z": [0.1]}, "generations_of": "Y"},
                              "unilevel_generation": {"rank": "Q", "rates": {"A": [0.7, 0.7]}},
                              "customer_first_order": {"rate": 0.1}})
    for expected in (
        "test-plan: ranks[0].unilevel_rates: rates add up to more than 100%",
        "test-plan: bonuses.matching.bonuses[0]: 'customer_first_order' is not a payout line "
        "of a bonus paid before the matching bonus",
        "test-plan: bonuses.matching.rates.Z: unknown rank",
        "test-plan: bonuses.matching.generations_of: unknown rank 'Y'",
        "test-plan: bonuses.unilevel_generation.rank: unknown rank 'Q'",
        "test-plan: bonuses.unilevel_generation.rates.A: rates add up to more than 100%",
        "test-plan: bonuses.customer_first_order: say which orders are first orders",
    ):
        assert expected in text, text
    text = _problems(ranks=[{"name": "A", "min_pv": 100, "unilevel_depth": 3,
                             "unilevel_rates": [0.1]}], bonuses={"unilevel": {}})
    assert "unilevel_depth 3 but 1 unilevel_rates" in text, text
    text = _problems(ranks=[{"name": "A", "min_pv": 100, "unilevel_infinity": 0.01}])
    assert "test-plan: ranks[0].unilevel_infinity: the plan pays no unilevel bonus" in text
    text = _problems(bonuses={"unilevel": {}})
    assert "bonuses.unilevel.rates: give at least one level" in text, text


def test_statement_rows_show_matched_earnings_as_money() -> None:
    from patronage.web.views.business import PayoutRow

    matched = PayoutRow("matching", 1, "Eli Moss", 2000, 2500, 500, None, "USD")
    assert matched.explanation == ("matching bonus on the bonuses earned, generation 1: 25% of "
                                   "Eli Moss's $20.00 = $5.00")
    level = PayoutRow("unilevel", 2, "Nia Park", 10000, 500, 500, None, "USD")
    assert level.explanation.endswith("5% of Nia Park's 100.00 points = $5.00")
