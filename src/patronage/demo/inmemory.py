"""A generated company as :class:`PeriodFacts` directly, without a database (for benchmarks)."""

from __future__ import annotations

import numpy as np

from patronage.demo.core import synth
from patronage.facts import KIND_DISTRIBUTOR, OrderLines, PeriodFacts, empty_refunds
from patronage.network.core.genealogy import build

DAY = 86400


def company_facts(members: int, *, seed: int = 1, start: int = 1_790_000_000,
                  days: int = 30) -> PeriodFacts:
    """``members`` members who joined in the year before ``start``, and about one order each in
    ``[start, start + days)``: the same generator as ``patronage generate``."""
    rng = np.random.default_rng(seed)
    end = start + days * DAY
    m = synth.make_members(rng, members, start - 365 * DAY, start)
    o = synth.make_orders(rng, m, start, end, refund_share=0.0, history=False)
    ids = np.arange(1, members + 1, dtype=np.int64)
    sponsor = m.sponsor - 1
    owner = m.owner - 1
    is_dist = m.kind == KIND_DISTRIBUTOR
    parent = np.where(is_dist, sponsor, owner)
    g = build(ids, parent, sponsor=sponsor, owner=owner, referrer=m.referrer - 1,
              kind=m.kind.astype(np.int8), status=np.zeros(members, dtype=np.int8),
              joined_at=m.joined_at)
    cat = synth.CATALOG
    qv = np.array([c.qv for c in cat])[o.line_product] * o.line_quantity
    cv = np.array([c.cv for c in cat])[o.line_product] * o.line_quantity
    # As place_order: a line at a zero price carries no volume (no demo product is marked
    # volume_when_free).
    free = o.line_unit_price == 0
    qv, cv = np.where(free, 0, qv), np.where(free, 0, cv)
    retail = np.array([c.retail_price for c in cat])[o.line_product] * o.line_quantity
    whole = np.array([c.wholesale_price for c in cat])[o.line_product] * o.line_quantity
    pack = np.array([c.is_enrollment_pack for c in cat])[o.line_product]
    buyer = o.buyer[o.line_order] - 1
    credited = o.credited_to[o.line_order] - 1
    k = o.line_order.shape[0]
    lines = OrderLines(
        line_id=np.arange(1, k + 1, dtype=np.int64), order_id=o.line_order + 1,
        buyer=buyer, credited_to=credited, product_id=o.line_product + 1,
        placed_at=o.placed_at[o.line_order], source=o.source[o.line_order].astype(np.int8),
        promotional=pack, customer_purchase=credited != buyer, qv=qv, cv=cv,
        amount=o.line_unit_price * o.line_quantity, retail_total=retail, wholesale_total=whole,
    )
    return PeriodFacts("generated", start, end, g, lines, empty_refunds())


def with_placement(facts: PeriodFacts, *, seed: int = 1) -> PeriodFacts:
    """``facts`` with every distributor placed in a filled-in binary tree, in joining order
    (the k-th distributor below the ((k − 1) // 2)-th, left then right: as many levels as a
    tree placed on the weak leg), and leg volume carried in for a fifth of them."""
    from dataclasses import replace

    from patronage.compensation.core.bonuses.binary import CARRY_LEFT, CARRY_RIGHT
    from patronage.facts import Placement

    g = facts.genealogy
    dist = np.flatnonzero(g.kind == KIND_DISTRIBUTOR)
    dist = dist[np.argsort(g.joined_at[dist], kind="stable")]
    k = np.arange(dist.shape[0])
    parent = np.full(g.size, -1, dtype=np.int64)
    side = np.zeros(g.size, dtype=np.int8)
    parent[dist[1:]] = dist[(k[1:] - 1) // 2]
    side[dist[1:]] = ((k[1:] - 1) % 2).astype(np.int8)
    rng = np.random.default_rng(seed)
    carried = np.zeros((2, g.size), dtype=np.int64)
    some = dist[rng.random(dist.shape[0]) < 0.2]
    carried[:, some] = rng.integers(0, 500, (2, some.shape[0])) * 100
    return replace(facts, placement=Placement(parent=parent, side=side),
                   carry_in={CARRY_LEFT: carried[0], CARRY_RIGHT: carried[1]})
