"""The simulated people: everyone who ever joined, as growable arrays indexed by joining order.

Kinds follow :mod:`patronage.facts` (retail customers buy now and then, preferred customers are
on autoship, distributors). ``parent`` is the sponsor of a distributor and the owner of a
customer; when someone leaves, those below them roll up to the nearest ancestor still present
(:func:`roll_up`), as companies compress a genealogy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I32, I64, Bools
from patronage.facts import KIND_DISTRIBUTOR


@dataclass
class Population:
    size: int
    kind: I64
    parent: I64
    referrer: I64
    joined: I32  # month joined
    since: I32  # month became a distributor (upgrades: the month of the upgrade)
    alive: Bools
    theta: F64  # autoship customers: monthly churn probability (sBG)
    lam: F64  # occasional buyers: purchases a month (BG/NBD λ)
    drop: F64  # occasional buyers: chance of leaving after a purchase (BG/NBD p)
    nu: F64  # Gamma-Gamma scale of spend per order
    recruits: I64  # distributors brought so far (preferential attachment)
    title: I64  # title rank index (-1 none)

    @classmethod
    def empty(cls, capacity: int) -> Population:
        c = max(capacity, 16)
        return cls(0, np.zeros(c, np.int64), np.full(c, -1, np.int64), np.full(c, -1, np.int64),
                   np.zeros(c, np.int32), np.zeros(c, np.int32), np.zeros(c, bool),
                   np.zeros(c), np.zeros(c), np.zeros(c), np.ones(c), np.zeros(c, np.int64),
                   np.full(c, -1, np.int64))

    def reserve(self, extra: int) -> None:
        need = self.size + extra
        capacity = self.kind.shape[0]
        if need <= capacity:
            return
        grown = max(need, capacity * 2)
        fill = {"parent": -1, "referrer": -1, "title": -1, "nu": 1.0}
        for name in ("kind", "parent", "referrer", "joined", "since", "alive", "theta", "lam",
                     "drop", "nu", "recruits", "title"):
            old = getattr(self, name)
            new = np.full(grown, fill.get(name, 0), dtype=old.dtype)
            new[:capacity] = old
            setattr(self, name, new)

    def add(self, kind: I64, parent: I64, referrer: I64, month: int) -> I64:
        """Append people; their indexes."""
        k = int(kind.shape[0])
        self.reserve(k)
        at = np.arange(self.size, self.size + k, dtype=np.int64)
        self.kind[at], self.parent[at], self.referrer[at] = kind, parent, referrer
        self.joined[at] = month
        self.since[at] = month
        self.alive[at] = True
        self.size += k
        return at

    def live(self) -> I64:
        return np.flatnonzero(self.alive[:self.size])

    def distributors(self) -> I64:
        n = self.size
        return np.flatnonzero(self.alive[:n] & (self.kind[:n] == KIND_DISTRIBUTOR))


def roll_up(parent: I64, alive: Bools) -> I64:
    """Each member's nearest ancestor still ``alive`` (-1: none), by pointer doubling: the
    genealogy after those who left are taken out."""
    up = parent.copy()
    for _ in range(64):
        has = up >= 0
        gone = np.zeros(up.shape[0], dtype=bool)
        gone[has] = ~alive[up[has]]
        if not gone.any():
            return up
        up[gone] = up[up[gone]]
    raise RuntimeError("the tree has a cycle")  # pragma: no cover - parents precede children
