"""The income disclosure's arithmetic and the customer-volume evidence, against hand-computed
figures and a slow reference."""

from __future__ import annotations

import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patronage.compliance.core.disclosure import (
    NO_RANK,
    PERCENTILES,
    describe,
    earnings_table,
    highest_rank,
    percentile,
)
from patronage.compliance.core.evidence import (
    VolumeMix,
    below_share,
    customer_ratio,
    evidence,
    sponsor_indexes,
)

EARNINGS = [0, 0, 0, 100, 250, 1000, 5000]  # minor units, seven participants


def test_percentiles_of_a_small_company_match_the_hand_computed_figures() -> None:
    # position (n - 1) * p / 100 over seven values: p10 0.6, p25 1.5, p50 3, p75 4.5,
    # p90 5.4, p99 5.94
    assert describe(EARNINGS) == {"median": 100, "p10": 0, "p25": 0, "p75": 625,
                                  "p90": 2600, "p99": 4760}


def test_a_percentile_between_two_values_rounds_half_to_even() -> None:
    assert percentile(np.array([1, 2]), 50) == 2  # 1.5
    assert percentile(np.array([2, 3]), 50) == 2  # 2.5
    assert percentile(np.array([7]), 99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile(np.array([], dtype=np.int64), 50)
    with pytest.raises(ValueError, match="outside"):
        percentile(np.array([1]), 101)


@given(st.lists(st.integers(-10**9, 10**12), min_size=2, max_size=60),
       st.integers(1, 99))
def test_percentile_equals_the_inclusive_quantile_of_exact_fractions(values: list[int],
                                                                     p: int) -> None:
    exact = statistics.quantiles([Fraction(v) for v in values], n=100, method="inclusive")
    assert percentile(np.sort(np.array(values, dtype=np.int64)), p) == round(exact[p - 1])


def test_the_table_has_a_row_per_rank_then_everyone_zero_earners_included() -> None:
    rank = np.array([NO_RANK, NO_RANK, NO_RANK, 0, 0, 1, 1])
    months = np.array([0, 0, 0, 3, 12, 2, 1])
    rows = earnings_table(rank, np.array(EARNINGS), months)
    assert [r.rank for r in rows] == [1, 0, NO_RANK, None]
    top, first, none, everyone = rows
    assert (top.headcount, top.share, top.median, top.mean, top.lowest, top.highest) == \
        (2, Fraction(2, 7), 3000, 3000, 1000, 5000)
    assert top.mean_months_at_rank == Fraction(3, 2)
    assert (first.median, first.mean, first.total) == (175, 175, 350)
    assert (none.headcount, none.earned_nothing, none.share_earning_nothing) == (3, 3, 1)
    assert everyone.headcount == 7 and everyone.earned_nothing == 3
    assert everyone.mean == 907  # 6350 / 7 = 907.14
    assert everyone.percentiles == {10: 0, 25: 0, 75: 625, 90: 2600, 99: 4760}
    assert set(everyone.percentiles) == set(PERCENTILES)
    assert sum(r.headcount for r in rows[:-1]) == everyone.headcount


def test_highest_rank_and_months_at_it() -> None:
    # participant 0: ranks 0, 1, 1; participant 1: -1, 0; participant 2: never ranked
    who = np.array([0, 0, 0, 1, 1])
    paid_as = np.array([0, 1, 1, -1, 0])
    best, months = highest_rank(who, paid_as, 3)
    assert best.tolist() == [1, 0, NO_RANK]
    assert months.tolist() == [2, 1, 0]


def test_team_volume_sums_over_the_sponsor_tree() -> None:
    # T sponsors B, B sponsors C; CV in hundredths of a point
    ids = np.array([10, 20, 30])
    sponsor = sponsor_indexes(ids, np.array([-1, 10, 20]))
    assert sponsor.tolist() == [-1, 0, 1]
    ev = evidence(ids, sponsor, consumption=np.array([8000, 12000, 0]),
                  promotional=np.array([0, 0, 10000]), customer=np.array([4000, 8000, 0]),
                  customers=np.array([1, 1, 0]), ordering_customers=np.array([1, 1, 0]))
    assert ev.team(1) == VolumeMix(12000, 10000, 8000)
    assert ev.team(1).customer_share == Fraction(4, 11)
    assert ev.team(0) == ev.company() == VolumeMix(20000, 10000, 12000)
    assert ev.company().customer_share == Fraction(2, 5)
    assert ev.company().promotional_share == Fraction(1, 3)
    assert VolumeMix(0, 0, 0).customer_share is None
    ratio = customer_ratio(ev)
    assert (ratio.distributors, ratio.customers, ratio.distributors_without_customers) == (3, 2, 1)
    assert ratio.per_distributor == Fraction(2, 3)


def test_below_share_is_exact_and_spares_groups_without_volume() -> None:
    part = np.array([40, 50, 0, 49999])
    whole = np.array([100, 100, 0, 100000])
    assert below_share(part, whole, Fraction(1, 2)).tolist() == [True, False, False, True]
