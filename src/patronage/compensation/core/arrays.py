"""Array steps the vectorised engine and its bonus types share (beside :mod:`patronage.arrays`):
gathering the rows a mask keeps, grouping by sorted keys, and rounding ``volume × rate``."""

from __future__ import annotations

import numpy as np

from patronage.arrays import I64, Bools, sum_by
from patronage.compensation.core.units import BP

__all__ = ["I64", "Bools", "groups", "round_rate", "sum_by", "sum_where", "take"]


def sum_where(mask: Bools, keys: I64, values: I64, n: int) -> I64:
    """:func:`sum_by` over the rows where ``mask`` holds, gathered by their positions (a
    boolean index of each array, or a spare bin for the other rows, costs twice as much)."""
    keys, values = take(mask, keys, values)
    return sum_by(keys, values, n)


def take(mask: Bools, *arrays: I64) -> list[I64]:
    """The rows of ``arrays`` where ``mask`` holds: the mask is read once, then each array
    is gathered (a boolean index per array would branch on every element each time). When
    every row is kept the arrays themselves come back, so callers never write into them."""
    if mask.all():
        return list(arrays)
    at = np.flatnonzero(mask)
    return [np.take(a, at) for a in arrays]


def groups(keys: I64) -> tuple[I64, I64]:
    """``np.unique(keys, return_inverse=True)``, without a sort when ``keys`` are already in
    ascending order (order lines come in line order, and so mostly in order id order)."""
    if keys.shape[0] and bool((keys[1:] >= keys[:-1]).all()):
        start = np.empty(keys.shape[0], dtype=bool)
        start[0] = True
        np.not_equal(keys[1:], keys[:-1], out=start[1:])
        inverse = np.cumsum(start, dtype=np.int64) - 1
        return keys[start], inverse
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1).astype(np.int64, copy=False)


def round_rate(volume: I64, rate: int | I64) -> I64:
    """``volume × rate / 10 000`` rounded half away from zero (volumes here are ≥ 0)."""
    return (2 * volume * rate + BP) // (2 * BP)
