"""The holdout analysis: it recovers a lift planted in generated customers, finds none where
none was planted, and its arrays agree with the customer-by-customer statement."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.care.core.lift import by_cohort, by_cohort_reference, measure

N = 50_000
HOLDOUT = 0.05
BASE = 0.55  # retention without attention


def _customers(lift: float, seed: int, n: int = N) -> tuple[np.ndarray, ...]:
    """``n`` customers, 5% in the holdout; the treated keep ``lift`` more often; spend is a
    gamma-distributed amount for those retained (minor units)."""
    rng = np.random.default_rng(seed)
    held = rng.random(n) < HOLDOUT
    p = np.where(held, BASE, BASE + lift)
    retained = rng.random(n) < p
    spend = np.where(retained, rng.gamma(2.0, 4_000.0, n), 0).astype(np.int64)
    return held, retained, spend


def test_a_planted_five_point_lift_is_recovered_within_its_interval() -> None:
    held, retained, spend = _customers(0.05, seed=11)
    m = measure(held, retained, spend)
    assert m.treated + m.holdout == N and 2_300 < m.holdout < 2_700
    assert m.lift.holds(0.05), m.lift
    assert m.lift.low > 0 and m.significant and m.p_value < 0.01
    # spend follows retention: about 5 points x the mean spend of a retained customer
    assert m.spend.holds(0.05 * 8_000) and m.spend.low > 0


def test_no_lift_is_reported_where_none_was_planted() -> None:
    held, retained, spend = _customers(0.0, seed=12)
    m = measure(held, retained, spend)
    assert m.lift.holds(0.0) and not m.significant and m.p_value > 0.05, m.lift
    assert m.spend.holds(0.0)


def test_the_interval_keeps_its_coverage() -> None:
    """Over 400 generated companies (5,000 customers each) the 95% interval holds the planted
    lift about 95% of the time, for a lift and for none."""
    for lift in (0.0, 0.05):
        hits = sum(measure(*_customers(lift, seed, n=5_000)).lift.holds(lift)
                   for seed in range(400))
        assert 366 <= hits <= 392, (lift, hits)  # 95% +- 3.3 standard errors


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.booleans(),
                               st.integers(0, 50_000)), min_size=1, max_size=80))
def test_by_cohort_equals_the_customer_by_customer_statement(
        rows: list[tuple[int, bool, bool, int]]) -> None:
    cohort, held, retained, spend = (list(c) for c in zip(*rows, strict=True))
    fast = by_cohort(np.array(cohort), np.array(held), np.array(retained), np.array(spend), 4)
    slow = by_cohort_reference(cohort, held, retained, spend, 4)
    for a, b in zip(fast, slow, strict=True):
        assert (a.treated, a.treated_retained, a.holdout, a.holdout_retained) == (
            b.treated, b.treated_retained, b.holdout, b.holdout_retained)
        assert np.allclose([a.lift.estimate, a.lift.low, a.lift.high, a.p_value],
                           [b.lift.estimate, b.lift.low, b.lift.high, b.p_value])
        assert np.allclose([a.spend.estimate, a.spend.low, a.spend.high],
                           [b.spend.estimate, b.spend.low, b.spend.high], rtol=1e-6,
                           atol=1e-6, equal_nan=True)
