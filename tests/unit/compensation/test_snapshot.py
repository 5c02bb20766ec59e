"""A frozen snapshot thaws into exactly the same facts, every array in its own type."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from patronage.compensation.snapshot import freeze, thaw
from patronage.demo.inmemory import company_facts


def test_snapshot_round_trip_is_exact() -> None:
    facts = company_facts(3000, seed=9)
    data, digest = freeze(facts)
    again = thaw(data, "again")
    assert (again.start, again.end) == (facts.start, facts.end)
    for name in ("genealogy", "lines", "refunds"):
        before, after = getattr(facts, name), getattr(again, name)
        for f in fields(before):
            a, b = getattr(before, f.name), getattr(after, f.name)
            assert a.dtype == b.dtype and np.array_equal(a, b), (name, f.name)
    assert freeze(again)[1] == digest
