"""Referral value: what a customer brought in through the people they referred.

Cf. Kumar, Petersen & Leone, "How valuable is word of mouth?" (2007): a customer's referral value
is kept apart from their own lifetime value. Here it is

    RV(i) = Σ over every j referred by i, directly or down the referral chain,
            of  δ^(k−1) · V(j)

where ``k`` is the number of referral steps from ``i`` to ``j`` (1 for someone ``i`` referred
directly), ``V(j)`` is ``j``'s own lifetime value and ``δ`` (``decay``, 0..1) the share of value
credited per further step: a direct referral counts whole, a referral's referral counts ``δ``.

Computed bottom-up: ``C(j) = V(j) + δ · Σ C(children of j)`` and ``RV(i) = Σ C(children of i)``,
one pass per chain depth with ``bincount`` (no loop per member). :func:`referral_value_by_walk`
is the obvious reference: it walks up every member's chain.
"""

from __future__ import annotations

import numpy as np

from patronage.arrays import F64, I64


def chain_depth(referrer: I64) -> I64:
    """Steps from each member to the top of their referral chain (``referrer`` -1 at the top),
    by pointer jumping: the distance covered doubles each pass. A cycle is refused."""
    n = referrer.shape[0]
    dist = (referrer >= 0).astype(np.int64)
    up = referrer.copy()
    for _ in range(64):
        active = up >= 0
        if not active.any():
            return dist
        safe = np.maximum(up, 0)
        dist = np.where(active, dist + dist[safe], dist)
        up = np.where(active, up[safe], -1)
    raise ValueError(f"referral records hold a cycle among {n} members")


def referral_value(referrer: I64, own_value: F64, decay: float) -> F64:
    """Referral value of every member; ``referrer[i]`` is the index of who referred ``i``
    (-1: nobody), ``own_value[i]`` their own lifetime value."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay: {decay} is not between 0 and 1")
    n = referrer.shape[0]
    depth = chain_depth(referrer)
    carried = own_value.astype(np.float64).copy()  # C(j), completed level by level
    result = np.zeros(n, dtype=np.float64)
    if n == 0:
        return result
    order = np.argsort(-depth, kind="stable")
    levels = np.unique(depth)[::-1]
    bounds = np.searchsorted(-depth[order], -levels, side="left")
    ends = np.append(bounds[1:], n)
    for start, end in zip(bounds.tolist(), ends.tolist(), strict=True):
        members = order[start:end]
        parents = referrer[members]
        has = parents >= 0
        sums = np.bincount(parents[has], weights=carried[members[has]], minlength=n)
        result += sums
        carried += decay * sums
    return result


def referral_value_by_walk(referrer: list[int], own_value: list[float],
                           decay: float) -> list[float]:
    """The reference: for every member, walk up their chain and credit each referrer above."""
    result = [0.0] * len(referrer)
    for j, value in enumerate(own_value):
        step, i = 1, referrer[j]
        while i >= 0:
            result[i] += decay ** (step - 1) * value
            step, i = step + 1, referrer[i]
    return result
