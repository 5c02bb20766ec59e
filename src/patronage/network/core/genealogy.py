"""Tree arithmetic on parent arrays, vectorised (numpy only, no loop per member).

Given ``parent[i]`` (``-1`` at a root), :func:`build` computes depth, a pre-order in which every
subtree is contiguous, each member's position in it and each subtree's size. The loops run once
per *level* of the tree (tens), never once per member.
"""

from __future__ import annotations

import numpy as np

from patronage.arrays import I8, I32, I64
from patronage.errors import PatronageError
from patronage.facts import Genealogy


class CycleError(PatronageError):
    code = "cycle"


def depths(parent: I64) -> I32:
    """Depth of every member (roots are 0) by pointer doubling; refuses cycles."""
    n = parent.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    if ((parent < -1) | (parent >= n)).any():
        raise PatronageError("parent index out of range")
    # dist[i]: distance from i to anc[i]; anc -1 means the root was passed.
    anc = parent.copy()
    dist = (parent >= 0).astype(np.int64)
    for _ in range(64):
        live = anc >= 0
        if not live.any():
            return dist.astype(np.int32)
        a = anc[live]
        dist[live] = dist[live] + dist[a]
        anc_new = anc.copy()
        anc_new[live] = anc[a]
        anc = anc_new
        if dist.max(initial=0) > n:
            break
    raise CycleError("the tree has a cycle: some member is their own ancestor")


def build(
    member_id: I64,
    parent: I64,
    *,
    sponsor: I64 | None = None,
    owner: I64 | None = None,
    referrer: I64 | None = None,
    kind: I8 | None = None,
    status: I8 | None = None,
    joined_at: I64 | None = None,
) -> Genealogy:
    """A :class:`Genealogy` from parent indexes (siblings ordered by member id)."""
    n = int(member_id.shape[0])
    parent = np.asarray(parent, dtype=np.int64)
    depth = depths(parent)
    none = np.full(n, -1, dtype=np.int64)

    size = np.ones(n, dtype=np.int64)
    max_depth = int(depth.max(initial=0))
    by_level = [np.flatnonzero(depth == d) for d in range(max_depth + 1)]
    for d in range(max_depth, 0, -1):
        members = by_level[d]
        np.add.at(size, parent[members], size[members])

    position = np.zeros(n, dtype=np.int64)
    # Roots: laid out one after the other, ordered by member id.
    roots = by_level[0] if by_level else np.zeros(0, dtype=np.int64)
    roots = roots[np.argsort(member_id[roots], kind="stable")]
    position[roots] = np.concatenate(([0], np.cumsum(size[roots])[:-1])) if len(roots) else roots
    for d in range(1, max_depth + 1):
        members = by_level[d]
        order = np.lexsort((member_id[members], parent[members]))
        kids = members[order]
        kid_parent = parent[kids]
        csum = np.cumsum(size[kids])
        # Exclusive cumulative size within each parent group.
        group_start = np.ones(len(kids), dtype=bool)
        group_start[1:] = kid_parent[1:] != kid_parent[:-1]
        start_idx = np.maximum.accumulate(np.where(group_start, np.arange(len(kids)), 0))
        before = csum - size[kids] - (csum[start_idx] - size[kids[start_idx]])
        position[kids] = position[kid_parent] + 1 + before

    preorder = np.empty(n, dtype=np.int64)
    preorder[position] = np.arange(n, dtype=np.int64)
    return Genealogy(
        member_id=np.asarray(member_id, dtype=np.int64),
        parent=parent,
        sponsor=none.copy() if sponsor is None else np.asarray(sponsor, dtype=np.int64),
        owner=none.copy() if owner is None else np.asarray(owner, dtype=np.int64),
        referrer=none.copy() if referrer is None else np.asarray(referrer, dtype=np.int64),
        kind=np.full(n, 2, dtype=np.int8) if kind is None else np.asarray(kind, dtype=np.int8),
        status=np.zeros(n, dtype=np.int8) if status is None else np.asarray(status, dtype=np.int8),
        joined_at=np.zeros(n, dtype=np.int64) if joined_at is None else np.asarray(joined_at),
        depth=depth,
        preorder=preorder,
        position=position,
        subtree_size=size,
    )


def subtree_sums(genealogy: Genealogy, values: I64) -> I64:
    """For every member, the sum of ``values`` over their whole subtree (themselves included)."""
    csum = np.zeros(genealogy.size + 1, dtype=np.int64)
    np.cumsum(values[genealogy.preorder], out=csum[1:])
    out: I64 = csum[genealogy.position + genealogy.subtree_size]
    out -= csum[genealogy.position]
    return out
