"""Level-by-level views of the distributor tree: "nearest qualified ancestor" pointers built
top-down one tree level at a time, and subtree sums that stop at chosen members."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from patronage.compensation.core.arrays import I64, Bools
from patronage.facts import KIND_DISTRIBUTOR, Genealogy


class Pointers:
    """Per distributor, a member index (-1: none), looked up by member index: kept over the
    distributors only, a quarter of the members or less, so building one touches that much
    memory. Every member these are looked up for is a distributor."""

    def __init__(self, values: I64, position: I64) -> None:
        self.values, self.position = values, position

    def __getitem__(self, members: I64) -> I64:
        at = self.position[members]
        return np.where(at >= 0, self.values[np.maximum(at, 0)], -1)


class Tree:
    """Level-by-level views of the distributor tree for top-down pointer building.

    Payees, walkers and volume sources are all distributors, and a distributor's parent is a
    distributor, so pointers are built over distributors only (customers are leaves).
    """

    def __init__(self, g: Genealogy) -> None:
        self.parent = g.parent
        dist = np.flatnonzero(g.kind == KIND_DISTRIBUTOR)
        self.position = np.full(g.size, -1, dtype=np.int64)
        self.position[dist] = np.arange(dist.shape[0])
        self.count = int(dist.shape[0])
        depth = g.depth[dist]
        if depth.shape[0] and int(depth.max()) < 2**15:
            depth = depth.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort
        order = dist[np.argsort(depth, kind="stable")]
        counts = np.bincount(depth, minlength=1) if dist.size else np.zeros(1, dtype=np.int64)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        self.levels = [order[bounds[d]: bounds[d + 1]] for d in range(1, len(counts))]
        self.parents = [self.parent[members] for members in self.levels]
        # The same, as positions among the distributors.
        self.at = [self.position[members] for members in self.levels]
        self.parents_at = [self.position[p] for p in self.parents]
        self._memo: dict[tuple[object, ...], Pointers] = {}

    def nearest_above_cached(self, key: tuple[object, ...],
                             ok: Callable[[], Bools]) -> Pointers:
        """:meth:`nearest_above` of ``ok()``, computed once per ``key`` (which must name what
        ``ok`` returns) in this run."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self.nearest_above(ok())
        return found

    def nearest_above(self, ok: Bools, stop: Bools | None = None) -> Pointers:
        """For every distributor, the nearest strict ancestor where ``ok`` holds (-1: none);
        with ``stop``, never looking past a member where ``stop`` holds (nor above one
        itself)."""
        out = np.full(self.count, -1, dtype=np.int64)
        if ok.any():
            for members, p, at, p_at in zip(self.levels, self.parents, self.at,
                                            self.parents_at, strict=True):
                found = np.where(ok[p], p, out[p_at])
                out[at] = found if stop is None else np.where(stop[members], -1, found)
        return Pointers(out, self.position)

    def sums_up_to(self, values: I64, stop: Bools) -> I64:
        """Subtree sums of ``values`` that do not pass up from a member where ``stop`` holds."""
        out = values.copy()
        for members in reversed(self.levels):
            up = members[~stop[members]]
            np.add.at(out, self.parent[up], out[up])
        return out
