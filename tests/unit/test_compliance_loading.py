"""Inventory-loading flags: a loading pattern is flagged, a normal one is not, and the fast
rule equals the one-distributor-at-a-time reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from patronage.compliance.core.loading import (
    HISTORY,
    loading_flags,
    loading_flags_reference,
    usual_consumption,
)


def _flags(own: list[list[int]], customer: list[int], known: list[list[bool]],
           share: int = 7000) -> list[tuple[int, int, int, int]]:
    f = loading_flags(np.array(own, dtype=np.int64), np.array(customer, dtype=np.int64),
                      np.array(known, dtype=bool), share)
    return [(int(i), int(o), int(u), int(c))
            for i, o, u, c in zip(f.index, f.own, f.usual, f.customer, strict=True)]


def test_a_loading_pattern_is_flagged_and_a_normal_one_is_not() -> None:
    own = [
        [4000, 4000, 4000, 40000],  # buys ten times their usual: flagged
        [4000, 4000, 4000, 4000],   # buys what they always buy: normal
        [4000, 4000, 4000, 20000],  # buys 5x but their customers bought 12,000: 80% used/sold
        [0, 0, 4000, 40000],        # one month of history: not judged
        [4000, 5000, 3000, 8000],   # 5,000 usual: 62.5% of 8,000 used, and no customers
    ]
    customer = [0, 0, 12000, 0, 0]
    known = [[True] * 4, [True] * 4, [True] * 4, [False, False, True, True], [True] * 4]
    assert _flags(own, customer, known) == [(0, 40000, 4000, 0), (4, 8000, 5000, 0)]
    # A laxer company (60%) lets the last one through.
    assert _flags(own, customer, known, 6000) == [(0, 40000, 4000, 0)]


def test_usual_consumption_is_the_largest_known_month() -> None:
    usual, months = usual_consumption(np.array([[1, 9, 5, 7], [3, 0, 0, 0]], dtype=np.int64),
                                      np.array([[True] * 4, [True, False, False, False]]))
    assert usual.tolist() == [9, 3] and months.tolist() == [4, 1]


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 10000"):
        loading_flags(np.zeros((1, 2), dtype=np.int64), np.zeros(1, dtype=np.int64),
                      np.ones((1, 2), dtype=bool), 10001)


@st.composite
def _histories(draw: st.DrawFn) -> tuple[list[list[int]], list[int], list[list[bool]], int]:
    rows = draw(st.integers(1, 12))
    months = draw(st.integers(1, HISTORY + 3))
    own = [draw(st.lists(st.integers(0, 50_000), min_size=months, max_size=months))
           for _ in range(rows)]
    known = [draw(st.lists(st.booleans(), min_size=months, max_size=months))
             for _ in range(rows)]
    customer = draw(st.lists(st.integers(0, 50_000), min_size=rows, max_size=rows))
    return own, customer, known, draw(st.integers(0, 10_000))


@given(_histories())
def test_the_fast_rule_equals_the_reference(case: tuple[list[list[int]], list[int],
                                                        list[list[bool]], int]) -> None:
    own, customer, known, share = case
    assert _flags(own, customer, known, share) == loading_flags_reference(own, customer, known,
                                                                          share)
