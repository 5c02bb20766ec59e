"""Referral value: the vectorised computation equals walking every referral chain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.value.core.referral import chain_depth, referral_value, referral_value_by_walk


@st.composite
def referral_forests(draw: st.DrawFn) -> tuple[list[int], list[float], float]:
    n = draw(st.integers(1, 60))
    # Each member may be referred by someone who came earlier, so there is never a cycle.
    referrer = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    order = draw(st.permutations(range(n)))  # members are not stored in referral order
    position = {old: new for new, old in enumerate(order)}
    shuffled = [-1] * n
    for old in range(n):
        shuffled[position[old]] = -1 if referrer[old] < 0 else position[referrer[old]]
    values = draw(st.lists(st.floats(0, 10_000, allow_nan=False), min_size=n, max_size=n))
    decay = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]))
    return shuffled, values, decay


@settings(max_examples=200, deadline=None)
@given(referral_forests())
def test_vectorised_referral_value_equals_walking_every_chain(
        forest: tuple[list[int], list[float], float]) -> None:
    referrer, values, decay = forest
    fast = referral_value(np.array(referrer, dtype=np.int64), np.array(values), decay)
    slow = referral_value_by_walk(referrer, values, decay)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-6)


def test_a_chain_of_referrals_is_credited_with_decay_per_step() -> None:
    # Ann referred Bo, Bo referred Cy; Cy is worth 100, Bo 40.
    referrer = np.array([-1, 0, 1], dtype=np.int64)
    value = np.array([0.0, 40.0, 100.0])
    assert referral_value(referrer, value, 0.5).tolist() == [40 + 50, 100, 0]
    assert chain_depth(referrer).tolist() == [0, 1, 2]


def test_a_cycle_in_the_referral_records_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        chain_depth(np.array([1, 0], dtype=np.int64))
