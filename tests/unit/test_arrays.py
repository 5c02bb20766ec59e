"""The shared array helpers: lookups by id, exact group sums, rows spread over members."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from patronage.arrays import fsum_by, index_of, per_member, sum_by


@given(st.lists(st.integers(-10**12, 10**12), unique=True, max_size=40),
       st.lists(st.integers(-10**12, 10**12), max_size=40), st.booleans())
def test_index_of_finds_each_id_or_says_minus_one(keys: list[int], wanted: list[int],
                                                 dense: bool) -> None:
    if dense:  # ids close together: the table path
        keys = sorted({k % 500 for k in keys})
        wanted = [w % 600 for w in wanted]
    k, w = np.array(keys, dtype=np.int64), np.array(wanted, dtype=np.int64)
    got = index_of(k, w).tolist()
    assert got == [keys.index(x) if x in keys else -1 for x in wanted]


def test_sum_by_is_exact_beyond_float_precision() -> None:
    big = 2**53 + 1
    got = sum_by(np.array([0, 0, 2]), np.array([big, 1, 5]), 3)
    assert got.dtype == np.int64 and got.tolist() == [big + 1, 0, 5]
    assert sum_by(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 2).tolist() == [0, 0]


def test_fsum_by_gives_float_totals_per_group() -> None:
    got = fsum_by(np.array([1, 1, 0]), np.array([0.5, 0.25, 2.0]), 3)
    assert got.dtype == np.float64 and got.tolist() == [2.0, 0.75, 0.0]


def test_per_member_spreads_rows_keyed_by_id_and_drops_unknown_ids() -> None:
    members = np.array([10, 20, 30], dtype=np.int64)
    keyed = np.array([[30, 7, 1], [99, 5, 5], [10, 2, 0]], dtype=np.int64)
    first, second = per_member(members, keyed, default=-1)
    assert first.tolist() == [2, -1, 7] and second.tolist() == [0, -1, 1]
    assert per_member(members, np.zeros((0, 2), dtype=np.int64))[0].tolist() == [0, 0, 0]
