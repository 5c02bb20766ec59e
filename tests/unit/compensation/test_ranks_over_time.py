"""Worked examples of pools, the rank advancement bonus and ranks over time, through both
engines. Where a published example gives figures it is cited and reproduced to the cent; the
others are worked by hand, their arithmetic in the docstring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from patronage.compensation.core.codes import REASON_RANK_NOT_HELD
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.history import RankHistory, history_periods
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE, RunResult
from patronage.errors import Problems
from patronage.facts import PeriodFacts
from tests.unit.compensation.builders import Company, Line, plan

Engine = Callable[[PeriodFacts, Any, RankHistory | None], RunResult]


def _reference(f: PeriodFacts, p: Any, h: RankHistory | None) -> RunResult:
    prior = {} if h is None or not h.periods else {
        i: int(t) for i, t in enumerate(h.title[0]) if t >= 0}
    return run_reference(f, p, prior, h)


def _vectorised(f: PeriodFacts, p: Any, h: RankHistory | None) -> RunResult:
    prior = None if h is None or not h.periods else h.title[0]
    return run_engine(f, p, prior, h)


ENGINES: list[Engine] = [_reference, _vectorised]
IDS = ["reference", "vectorised"]


def lines(result: RunResult, bonus: str) -> list[tuple[int, int, int, int]]:
    """(earner, level, volume, amount) of the lines of ``bonus``."""
    p = result.payouts
    at = np.flatnonzero(p.bonus == BONUS_CODE[bonus])
    return sorted((int(p.earner[j]), int(p.level[j]), int(p.volume[j]), int(p.amount[j]))
                  for j in at)


def history(*periods: tuple[list[int], list[int], list[int]]) -> RankHistory:
    """Earlier periods, the last first, each (qualified, paid-as, title) by member."""
    def rows(k: int) -> Any:
        return np.array([p[k] for p in periods], dtype=np.int64).reshape(len(periods), -1)
    return RankHistory(rows(0), rows(1), rows(2))


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_pool_by_volume_reproduces_a_published_example(engine: Engine) -> None:
    """Connect's Global Pool Bonuses, "Example A – Active C5"
    (https://connect-13.gitbook.io/connect/connect-referral-program/global-pool-bonuses):
    Pool 1 is 1.5% of global sales volume, "Pool 1 = $300,000", "You contribute $100,000 (10%
    of the pool)", "Payout = 10% × $300,000 × 1 = $30,000" (no multiplier).

    Here: global CV 20,000,000.00 (1.5% of it is 300,000.00); the two members in the pool
    have group volumes 100,000.00 ("you") and 900,000.00, so "you" hold 10% of the pool's
    weight: 30,000.00, and the other 270,000.00. The rest of the volume is bought by a
    customer without an owner (it counts toward the company's CV only)."""
    company = Company(parent=[-1, -1, -1], kind=[2, 2, 0],
                      lines=[Line(0, 10_000_000, 10_000_000), Line(1, 90_000_000, 90_000_000),
                             Line(2, 1_900_000_000, 1_900_000_000)])
    p = plan(ranks=[{"name": "Ambassador C5", "min_pv": 100}],
             bonuses={"pool": {"pools": [{"name": "Pool 1", "share_of_cv": 0.015,
                                          "min_rank": "Ambassador C5", "divide": "gv"}]}})
    result = engine(company.facts(), p, None)
    assert lines(result, "pool") == [(0, 1, 10_000_000, 3_000_000),
                                     (1, 1, 90_000_000, 27_000_000)]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_pool_shares_by_rank_and_the_cents_left_over(engine: Engine) -> None:
    """Worked by hand. CV 300.00 + 200.00 + 100.01 + 150.00 = 750.01; pool A 1% of it is
    7.5001, rounded to 7.50 (750 cents); pool B 0.1% is 0.75001, rounded to 0.75 (75 cents).

    Pool A, equal shares among members 0-2 (everyone paid as Bronze or higher; 3 is not
    active): 750 / 3 = 250 each. Pool B, Gold only (paid as Gold: members 0 and 1, 300 and 200
    PV), two shares for Gold: 75 / 2 = 37 each and one cent left over, whose remainders tie:
    it goes to member 0 (first). Pool C, 0.04% by PV among all three (300.00, 200.00, 100.01 PV:
    600.01): 0.300004 rounds to 0.30 (30 cents); 30 × 30000 / 60001 = 14.9997... (14, rest
    59986), 30 × 20000 / 60001 = 9.9998... (9, rest 59991), 30 × 10001 / 60001 = 5.0003...
    (5, rest 2): 28 cents, the 2 left go to the largest rests: member 1 then member 0 —
    15, 10, 5."""
    company = Company(parent=[-1, 0, 0, 0], kind=[2, 2, 2, 2],
                      lines=[Line(0, 30000, 30000), Line(1, 20000, 20000),
                             Line(2, 10001, 10001), Line(3, 5000, 15000)])
    p = plan(ranks=[{"name": "Bronze", "min_pv": 100}, {"name": "Gold", "min_pv": 200}],
             bonuses={"pool": {"pools": [
                 {"name": "A", "share_of_cv": 0.01, "min_rank": "Bronze"},
                 {"name": "B", "share_of_cv": 0.001, "min_rank": "Gold",
                  "shares": {"Gold": 2}},
                 {"name": "C", "share_of_cv": 0.0004, "min_rank": "Bronze", "divide": "pv"}]}})
    result = engine(company.facts(), p, None)
    assert lines(result, "pool") == [
        (0, 1, 1, 250), (0, 2, 2, 38), (0, 3, 30000, 15),
        (1, 1, 1, 250), (1, 2, 2, 37), (1, 3, 20000, 10),
        (2, 1, 1, 250), (2, 3, 10001, 5)]


def _one_member(pv: int) -> Company:
    return Company(parent=[-1], kind=[2], lines=[Line(0, pv * 100, pv * 100)])


RANKS = [{"name": "Silver", "min_pv": 100}, {"name": "Gold", "min_pv": 200},
         {"name": "Ruby", "min_pv": 300}]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_rank_advancement_in_instalments_while_the_rank_is_held(engine: Engine) -> None:
    """Worked by hand, on the rules Univera published for its sustained-rank bonus
    (http://blog.newunivera.com/sustained-rank-super-rewards/): "paid in a three month
    installment ... as long as the Associate maintains Rank each month", and "If the Associate
    earns a higher Rank while in the qualifying period of a lower Rank, Associate will earn
    all applicable Bonuses at the same time".

    Gold 100.00 and Ruby 500.00 in three instalments: 100.00 / 3 = 33.33 with 0.01 left, so
    33.34 then 33.33 and 33.33; 500.00 / 3 = 166.66 with 0.02 left: 166.68, 166.66, 166.66.
    The member was paid as Silver two periods ago (title Silver), reached Gold last period
    (instalment 1 of Gold paid then) and Ruby now: Gold's second instalment (33.33) and Ruby's
    first (166.68) are paid now, together."""
    p = plan(ranks=RANKS, bonuses={"rank_advancement": {
        "amounts": {"Gold": 100, "Ruby": 500}, "instalments": 3}})
    h = history(([1], [1], [1]), ([0], [0], [0]))
    result = engine(_one_member(300).facts(), p, h)
    assert lines(result, "rank_advancement") == [(0, 2, 2, 3333), (0, 3, 1, 16668)]
    # Skipping from Silver straight to Ruby pays both bonuses' first instalments at once.
    result = engine(_one_member(300).facts(), p, history(([0], [0], [0])))
    assert lines(result, "rank_advancement") == [(0, 2, 1, 3334), (0, 3, 1, 16668)]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_rank_advancement_forfeited_when_the_rank_is_lost(engine: Engine) -> None:
    """Worked by hand. Gold 100.00 in three instalments, reached two periods ago (33.34 paid
    then) and held last period (33.33). Paid as Silver now: the third instalment is forfeited
    (a skip says why), and nothing is due in later periods. With ``held_as = "title"`` the
    title is enough: the third 33.33 is paid."""
    p = plan(ranks=RANKS, bonuses={"rank_advancement": {"amounts": {"Gold": 100},
                                                        "instalments": 3}})
    h = history(([1], [1], [1]), ([1], [1], [1]), ([0], [0], [0]))
    result = engine(_one_member(150).facts(), p, h)
    assert lines(result, "rank_advancement") == []
    assert result.skips.rows() == [(BONUS_CODE["rank_advancement"], 1, 0, 2, 0,
                                    REASON_RANK_NOT_HELD, -1)]
    later = history(([0], [0], [1]), ([1], [1], [1]), ([1], [1], [1]), ([0], [0], [0]))
    result = engine(_one_member(200).facts(), p, later)
    assert lines(result, "rank_advancement") == [] and result.skips.size == 0
    by_title = plan(ranks=RANKS, bonuses={"rank_advancement": {
        "amounts": {"Gold": 100}, "instalments": 3, "held_as": "title"}})
    result = engine(_one_member(150).facts(), by_title, h)
    assert lines(result, "rank_advancement") == [(0, 2, 3, 3333)]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_a_rank_held_for_consecutive_periods_before_it_is_paid(engine: Engine) -> None:
    """Worked by hand, the rule Desana publishes for its rank bonuses ("held for three
    consecutive months", http://godesana.helponclick.com/kb/article/when-are-rank-advancement-
    bonuses-paid) applied to the paid-as rank: Gold needs 3 consecutive periods. Qualified for
    Gold now and in the last period only: paid as Silver; and for the two before as well: Gold."""
    ranks = [RANKS[0], {**RANKS[1], "min_periods": 3}]
    p = plan(ranks=ranks)
    result = engine(_one_member(200).facts(), p, history(([1], [1], [1]), ([0], [0], [1])))
    assert (result.qualified is not None and int(result.qualified[0]) == 1
            and int(result.paid_as[0]) == 0)
    result = engine(_one_member(200).facts(), p, history(([1], [0], [1]), ([1], [0], [1])))
    assert int(result.paid_as[0]) == 1


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_grace_periods_and_the_lower_of_two_periods(engine: Engine) -> None:
    """Worked by hand. Qualified for Ruby last period, Silver now. With one grace period the
    member stays paid as Ruby; with none, Silver. "Lower of this and last period": qualified
    for Ruby now and Gold last period: paid as Gold; the period after (Ruby again): Ruby. An
    inactive member keeps no rank in grace."""
    grace = plan(ranks=RANKS, paid_as={"grace_periods": 1})
    h = history(([2], [2], [2]))
    assert int(engine(_one_member(100).facts(), grace, h).paid_as[0]) == 2
    assert int(engine(_one_member(100).facts(), plan(ranks=RANKS), h).paid_as[0]) == 0
    assert int(engine(_one_member(50).facts(), grace, h).paid_as[0]) == -1
    lower = plan(ranks=RANKS, paid_as={"lower_of_last": True})
    assert int(engine(_one_member(300).facts(), lower,
                      history(([1], [1], [1]))).paid_as[0]) == 1
    assert int(engine(_one_member(300).facts(), lower,
                      history(([2], [1], [1]), ([1], [1], [1]))).paid_as[0]) == 2


def test_bad_sections_are_listed_with_their_key_paths() -> None:
    with pytest.raises(Problems) as caught:
        plan(ranks=RANKS, paid_as={"grace_periods": -1}, bonuses={
            "rank_advancement": {"amounts": {"Platinum": 10, "Gold": -1}, "instalments": 0},
            "pool": {"pools": [{"name": "P", "share_of_cv": 0.7, "min_rank": "Gold",
                                "shares": {"Silver": 2}},
                               {"name": "Q", "share_of_cv": 0.5, "min_rank": "Jade",
                                "divide": "pv"}]}})
    text = str(caught.value.problems)
    for place in ("paid_as.grace_periods", "bonuses.rank_advancement.instalments",
                  "bonuses.rank_advancement.amounts"):
        assert place in text, place
    with pytest.raises(Problems) as caught:
        plan(ranks=RANKS, bonuses={
            "rank_advancement": {"amounts": {"Platinum": 10}},
            "pool": {"pools": [{"name": "P", "share_of_cv": 0.7, "min_rank": "Gold",
                                "shares": {"Silver": 2}},
                               {"name": "Q", "share_of_cv": 0.5, "min_rank": "Jade",
                                "divide": "pv"}]}})
    text = str(caught.value.problems)
    for place, why in (("bonuses.rank_advancement.amounts.Platinum", "unknown rank"),
                       ("bonuses.pool.pools[0].shares.Silver", "below the pool's minimum"),
                       ("bonuses.pool.pools[1].min_rank", "unknown rank 'Jade'"),
                       ("bonuses.pool.pools", "more than 100% of CV")):
        assert place in text and why in text, place


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_a_title_held_for_long_pays_no_instalment_from_the_loaded_history(
        engine: Engine) -> None:
    """A run loads only ``history_periods(plan)`` earlier periods. Gold (100.00 in three parts)
    held for five periods: nothing is due now, with the whole history or with only the periods
    a run loads (three: the titles of three periods back tell that Gold was not reached two
    periods ago)."""
    p = plan(ranks=RANKS, bonuses={"rank_advancement": {"amounts": {"Gold": 100},
                                                        "instalments": 3}})
    held = ([1], [1], [1])
    full = history(held, held, held, held, held)
    kept = history_periods(p)
    assert kept == 3
    short = RankHistory(full.qualified[:kept], full.paid_as[:kept], full.title[:kept])
    for h in (full, short):
        assert lines(engine(_one_member(200).facts(), p, h), "rank_advancement") == []
