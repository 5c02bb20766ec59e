"""Property: the vectorised engine pays exactly what the reference engine pays, to the cent,
and passes over exactly the same members for the same reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.reference import run_reference
from tests.unit.compensation.builders import END, START, Company, Line, plan


@st.composite
def companies(draw: st.DrawFn) -> Company:
    n = draw(st.integers(1, 30))
    kind = [2] + [draw(st.sampled_from([0, 1, 2, 2])) for _ in range(n - 1)]
    parent = [-1]
    for i in range(1, n):
        dists = [j for j in range(i) if kind[j] == 2]
        # Now and then a distributor starts a tree of their own (a forest, not one tree).
        root = kind[i] == 2 and draw(st.integers(0, 9)) == 0
        parent.append(-1 if root else draw(st.sampled_from(dists)))
    joined = [draw(st.sampled_from([0, START - 10 * 86400, START, START + 5 * 86400]))
              for _ in range(n)]
    status = [draw(st.sampled_from([0, 0, 0, 0, 1, 2])) for _ in range(n)]
    referrer = [draw(st.sampled_from([-1, -1, *range(n)])) for _ in range(n)]
    referrer = [r if r != i else -1 for i, r in enumerate(referrer)]
    lines = []
    orders = draw(st.integers(0, 40))
    # Order ids usually ascend with the lines, but need not.
    numbers = draw(st.permutations(range(orders))) if draw(st.booleans()) else range(orders)
    for order in numbers:
        buyer = draw(st.integers(0, n - 1))
        for _ in range(draw(st.integers(1, 2))):
            qv = draw(st.sampled_from([0, 2500, 5000, 9000, 10000, 12000, 20000, 33333]))
            cv = draw(st.sampled_from([0, qv, qv // 2, 12345]))
            amount = draw(st.sampled_from([cv, 4999, 10000, 15001]))
            wholesale = draw(st.sampled_from([amount, amount * 3 // 4, 0]))
            lines.append(Line(buyer, qv, cv, promotional=draw(st.booleans()), amount=amount,
                              wholesale=wholesale, order=order + 1,
                              at=draw(st.sampled_from([START, START + 86400, END - 1]))))
    refunds = []
    for _ in range(draw(st.integers(0, 3)) if lines else 0):
        j = draw(st.integers(0, len(lines) - 1))
        ln = lines[j]
        refunds.append((j, ln.qv // 2, ln.cv // 2, (ln.amount or 0) // 2,
                        draw(st.sampled_from([ln.at, START - 40 * 86400]))))
    company = Company(parent, kind, joined, status, referrer, lines, refunds)
    if draw(st.booleans()):
        company.placement, company.carry_in = draw(placements(kind))
    return company


@st.composite
def placements(draw: st.DrawFn, kind: list[int]) -> tuple[list[tuple[int, int]],
                                                           dict[str, list[int]]]:
    """A placement tree over the distributors (each placed on a free side of an earlier one,
    or a root) and leg volume carried in from a previous period."""
    free: list[tuple[int, int]] = []
    placed: list[tuple[int, int]] = []
    for i, k in enumerate(kind):
        if k != 2 or not free or draw(st.integers(0, 7)) == 0:
            placed.append((-1, 0))
        else:
            spot = free.pop(draw(st.integers(0, len(free) - 1)))
            placed.append(spot)
        if k == 2:
            free += [(i, 0), (i, 1)]
    volume = st.sampled_from([0, 0, 3000, 10000, 25000])
    carry = {"binary_left": [draw(volume) for _ in kind],
             "binary_right": [draw(volume) for _ in kind]} if draw(st.booleans()) else {}
    return placed, carry


def binary_section(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """A ``[bonuses.binary]`` section: ratio, unit, rate and/or amount, caps, flush rules."""
    section: dict[str, Any] = {
        "unit": draw(st.sampled_from([0.01, 50, 100])),
        "ratio": draw(st.sampled_from([[1, 1], [2, 1], [1, 2], [3, 2]])),
        "rate": draw(st.sampled_from([0.0, 0.1, 0.125])),
        "pair_amount": draw(st.sampled_from([0, 0, 7.5])),
        "cap": draw(st.sampled_from([0, 0, 20, 150])),
        "carry_cap": draw(st.sampled_from([0, 0, 120])),
        "flush_weak": draw(st.booleans()), "flush_inactive": draw(st.booleans()),
        "include_promotional": draw(st.booleans()),
        "min_rank": draw(st.sampled_from([None, *names])),
    }
    if section["rate"] == 0 and section["pair_amount"] == 0:
        section["rate"] = 0.1
    return {k: v for k, v in section.items() if v is not None}


@st.composite
def plans(draw: st.DrawFn) -> Any:
    rate = st.sampled_from([0.0, 0.01, 0.03, 0.05, 0.1, 0.2])  # five levels stay within 100%
    levels = draw(st.integers(1, 5))
    ranks = [{"name": "A", "min_pv": 100, "unilevel_depth": draw(st.integers(0, levels))}]
    if draw(st.booleans()):
        ranks.append({"name": "B", "min_pv": draw(st.sampled_from([100, 150])),
                      "min_gv": draw(st.sampled_from([100, 300, 600])),
                      "leg_cap": draw(st.sampled_from([0.4, 0.6, 1.0])),
                      "min_active_legs": draw(st.integers(0, 2)),
                      "min_active_customers": draw(st.integers(0, 2)),
                      "unilevel_depth": levels})
        if draw(st.booleans()):
            ranks.append({"name": "C", "min_pv": 150, "min_gv": 600,
                          "min_active_legs": ranks[1]["min_active_legs"],
                          "min_active_customers": ranks[1]["min_active_customers"],
                          "legs_with_rank": {"rank": "A", "count": draw(st.integers(1, 2))},
                          "unilevel_depth": levels})
    bonuses: dict[str, Any] = {
        "retail_profit": {"enabled": draw(st.booleans())},
        "fast_start": {"rates": [draw(rate) for _ in range(draw(st.integers(1, 3)))],
                       "window_days": draw(st.sampled_from([1, 30, 60])),
                       "volume": draw(st.sampled_from(["qv", "cv"])),
                       "promotional_only": draw(st.booleans()), "roll_up": draw(st.booleans())},
        "unilevel": {"rates": [draw(rate) for _ in range(levels)],
                     "compression": draw(st.sampled_from(["none", "static", "dynamic"])),
                     "include_promotional": draw(st.booleans())},
        "customer_acquisition": {"amount": 10, "requires_active": draw(st.booleans())},
        "customer_referral": {"referrals": draw(st.integers(1, 3)), "cap": 120},
    }
    names = [r["name"] for r in ranks]
    if draw(st.booleans()):
        steps = sorted(draw(st.sampled_from([0.0, 0.02, 0.04, 0.06])) for _ in names)
        bonuses["stair_step"] = {
            "rates": dict(zip(names, steps, strict=True)),
            "breakaway_rank": draw(st.sampled_from([None, *names])),
            "include_promotional": draw(st.booleans()),
        }
        if bonuses["stair_step"]["breakaway_rank"] is not None:
            bonuses["stair_step"]["generation_rates"] = [
                draw(st.sampled_from([0.01, 0.02, 0.03])) for _ in range(draw(st.integers(0, 3)))]
            bonuses["stair_step"]["generational_compression"] = draw(st.booleans())
    if draw(st.booleans()):
        bonuses["binary"] = binary_section(draw, names)
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["cap"] = {"max_share_of_cv": draw(st.sampled_from([0.05, 0.3, 0.9]))}
    if draw(st.booleans()):
        extra["compliance"] = {
            "min_team_customer_share": draw(st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0])),
            "bonuses": draw(st.sampled_from([None, ["unilevel"], ["fast_start", "retail_profit"],
                                             ["customer_referral", "stair_step"]]))}
    return plan(ranks=ranks, bonuses=bonuses,
                active={"min_pv": 100, "customer_orders_count_as_pv": draw(st.booleans())},
                **extra)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(company=companies(), p=plans())
def test_vectorised_engine_equals_reference(company: Company, p: Any) -> None:
    facts = company.facts()
    prior = {i: 0 for i in range(0, facts.genealogy.size, 3)}
    ref = run_reference(facts, p, prior)
    prior_arr = np.full(facts.genealogy.size, -1, dtype=np.int64)
    for i, r in prior.items():
        prior_arr[i] = r
    fast = run_engine(facts, p, prior_arr)
    assert fast.payouts.rows() == ref.payouts.rows()
    assert fast.skips.rows() == ref.skips.rows()
    assert fast.pv.tolist() == ref.pv.tolist()
    assert fast.gv.tolist() == ref.gv.tolist()
    assert fast.paid_as.tolist() == ref.paid_as.tolist()
    assert fast.title.tolist() == ref.title.tolist()
    assert fast.active_customers.tolist() == ref.active_customers.tolist()
    assert fast.customer_volume.tolist() == ref.customer_volume.tolist()
    assert (fast.total_cv, fast.cap_limit, fast.cap_applied) == (
        ref.total_cv, ref.cap_limit, ref.cap_applied)
    assert {k: v.tolist() for k, v in fast.carry.items()} == {
        k: v.tolist() for k, v in ref.carry.items()}
    event(f"payout lines: {min(ref.payouts.size, 5)}+; skips: {min(ref.skips.size, 5)}+")
    event(f"bonuses paid: {sorted(set(ref.payouts.bonus.tolist()))}")
    event(f"lines withheld by the compliance rule: {bool((ref.skips.reason == 7).any())}")


@given(st.lists(st.integers(0, 6), max_size=30), st.booleans())
def test_grouping_order_ids_equals_numpy_unique(keys: list[int], ascending: bool) -> None:
    from patronage.compensation.core.arrays import groups

    values = np.array(sorted(keys) if ascending else keys, dtype=np.int64)
    unique, inverse = groups(values)
    expected_unique, expected_inverse = np.unique(values, return_inverse=True)
    assert unique.tolist() == expected_unique.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()
