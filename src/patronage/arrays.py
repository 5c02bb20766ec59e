"""The array vocabulary shared by the engines and loaders: dtype aliases and the few gathers and
group sums every vectorised module needs.

Members are addressed by *member index* (``0..n-1``), ids by their database values; a missing
position is ``-1`` throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
#: An ``(rows, columns)`` int64 matrix, as the bulk readers return.
Matrix = np.ndarray[Any, np.dtype[np.int64]]

#: Ids spread over at most this many slots per key are looked up in a table (one gather) rather
#: than searched (a binary search each, with a cache miss at every step).
_DENSE = 4


def index_of(keys: I64, wanted: I64) -> I64:
    """Positions in ``keys`` (unique ids) of each of ``wanted``; ``-1`` where absent."""
    wanted = np.asarray(wanted, dtype=np.int64)
    n = keys.shape[0]
    if n == 0 or wanted.size == 0:
        return np.full(wanted.shape, -1, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < _DENSE * n + 1024:
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[keys - low] = np.arange(n, dtype=np.int64)
        out = np.full(wanted.shape, -1, dtype=np.int64)
        inside = (wanted >= low) & (wanted <= high)
        out[inside] = table[wanted[inside] - low]
        return out
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    pos = np.clip(np.searchsorted(sorted_keys, wanted), 0, keys.shape[0] - 1)
    return np.where(sorted_keys[pos] == wanted, order[pos], -1).astype(np.int64)


def sum_by(group: I64, values: npt.NDArray[Any], size: int) -> I64:
    """Exact integer totals of ``values`` per group ``0..size-1`` (``group[i]``: row i's group,
    every one in range): ``np.add.at`` on int64, never rounded through floats."""
    out = np.zeros(size, dtype=np.int64)
    if group.shape[0]:
        np.add.at(out, group, np.asarray(values, dtype=np.int64))
    return out


def fsum_by(group: I64, values: npt.NDArray[Any], size: int) -> F64:
    """Totals of ``values`` per group ``0..size-1`` as floats (``numpy.bincount``'s weights)."""
    return np.bincount(group, weights=values, minlength=size).astype(np.float64, copy=False)


def per_member(member_id: I64, keyed: Matrix, default: int = 0) -> list[I64]:
    """Columns 1.. of ``keyed`` (one row per member, its id in column 0) spread over member
    indexes (positions in ``member_id``): ``default`` for a member without a row; rows of ids
    not in ``member_id`` are dropped."""
    at = index_of(member_id, keyed[:, 0])
    keep = at >= 0
    out = []
    for column in range(1, keyed.shape[1]):
        spread = np.full(member_id.shape[0], default, dtype=np.int64)
        spread[at[keep]] = keyed[keep, column]
        out.append(spread)
    return out
