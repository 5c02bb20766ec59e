"""Property: the vectorised engine pays exactly what the reference engine pays, to the cent,
and passes over exactly the same members for the same reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from patronage.compensation.core.bonuses import BONUS_TYPES
from patronage.compensation.core.codes import REASON_CUSTOMER_SHARE
from patronage.compensation.core.compliance import Withheld
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.history import RankHistory, history_periods
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUS_CODE
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
            _stair_step_generations(draw, names, bonuses["stair_step"])
            bonuses["stair_step"]["generational_compression"] = draw(st.booleans())
    _rates_by_rank(draw, ranks, bonuses)
    _unilevel_generation(draw, ranks, bonuses)
    _matching(draw, ranks, bonuses)
    _customer_first_order(draw, bonuses)
    if draw(st.booleans()):
        bonuses["binary"] = binary_section(draw, names)
    extra: dict[str, Any] = {}
    rank_advancement(draw, bonuses, names)
    pools(draw, bonuses, names)
    ranks_over_time(draw, ranks, extra)
    if draw(st.booleans()):
        extra["cap"] = {"max_share_of_cv": draw(st.sampled_from([0.05, 0.3, 0.9]))}
    if draw(st.booleans()):
        extra["compliance"] = {
            "min_team_customer_share": draw(st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0])),
            "bonuses": draw(st.sampled_from([None, ["unilevel"], ["fast_start", "retail_profit"],
                                             ["customer_referral", "stair_step"]])),
            "release_withheld_within": draw(st.sampled_from([0, 1, 2, 3]))}
    # Fast start and binary now and then paid by the week: a run of either calendar gives the
    # engines the part of the plan paid on it.
    for name in ("fast_start", "binary"):
        matched = bonuses.get("matching", {}).get("bonuses", [])
        if name in bonuses and name not in matched and draw(st.booleans()):
            bonuses[name]["period"] = "week"
    calendar = draw(st.sampled_from(["month", "week"]))
    event(f"calendar: {calendar}")
    return plan(ranks=ranks, bonuses=bonuses,
                active={"min_pv": 100, "customer_orders_count_as_pv": draw(st.booleans())},
                **extra).for_calendar(calendar)


def _stair_step_generations(draw: st.DrawFn, names: list[str], stair: dict[str, Any]) -> None:
    """One list of generation rates for every breakaway rank, or lists by rank (of different
    lengths, some ranks at or above the breakaway rank left out)."""
    gen_rate = st.sampled_from([0.0, 0.01, 0.02, 0.03])
    if draw(st.booleans()):
        stair["generation_rates"] = [draw(gen_rate) for _ in range(draw(st.integers(0, 3)))]
        return
    eligible = names[names.index(stair["breakaway_rank"]):]
    chosen = draw(st.lists(st.sampled_from(eligible), unique=True))
    stair["generation_rates_by_rank"] = {
        r: [draw(gen_rate) for _ in range(draw(st.integers(0, 4)))] for r in chosen}


def rank_advancement(draw: st.DrawFn, bonuses: dict[str, Any], names: list[str]) -> None:
    """Now and then a rank advancement bonus on some ranks, paid at once or in instalments."""
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        bonuses["rank_advancement"] = {
            "amounts": {r: draw(st.sampled_from([0.01, 100, 250.5, 1000])) for r in chosen},
            "instalments": draw(st.integers(1, 4)),
            "held_as": draw(st.sampled_from(["paid_as", "title"]))}


def pools(draw: st.DrawFn, bonuses: dict[str, Any], names: list[str]) -> None:
    """Now and then one or two pools, by equal shares, shares by rank, PV or GV."""
    if draw(st.booleans()):
        found = []
        for k in range(draw(st.integers(1, 2))):
            low = draw(st.integers(0, len(names) - 1))
            pool: dict[str, Any] = {"name": f"pool {k}", "min_rank": names[low],
                                    "share_of_cv": draw(st.sampled_from([0.0, 0.01, 0.0333,
                                                                         0.05])),
                                    "divide": draw(st.sampled_from(["shares", "pv", "gv"]))}
            if pool["divide"] == "shares" and draw(st.booleans()):
                pool["shares"] = {r: draw(st.integers(1, 7)) for r in names[low:]}
            found.append(pool)
        bonuses["pool"] = {"pools": found}


def ranks_over_time(draw: st.DrawFn, ranks: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """Now and then ranks held for several periods, a grace period, the lower of two periods."""
    if draw(st.booleans()):
        for rank in ranks:
            rank["min_periods"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        extra["paid_as"] = {"grace_periods": draw(st.integers(0, 2)),
                            "lower_of_last": draw(st.booleans())}


@st.composite
def withheld_amounts(draw: st.DrawFn, n: int) -> Withheld:
    """Amounts withheld in up to four earlier periods, several per member and period at
    times, now and then from a member no longer in the genealogy (index -1)."""
    rows = draw(st.lists(st.tuples(st.integers(-1, n - 1), st.integers(0, 4),
                                   st.sampled_from([1, 250, 1999, 40000])), max_size=12))

    def col(k: int) -> Any:
        return np.array([r[k] for r in rows], dtype=np.int64)

    return Withheld(col(0), col(1), col(2))


@st.composite
def histories(draw: st.DrawFn, n: int, ranks: int) -> RankHistory:
    """Ranks of up to four earlier periods: qualified and paid-as at random, titles the
    highest paid-as rank up to each period (row 0 the last period)."""
    periods = draw(st.integers(0, 4))
    rank = st.integers(-1, ranks - 1)
    qualified = [[draw(rank) for _ in range(n)] for _ in range(periods)]
    paid_as = [[draw(rank) for _ in range(n)] for _ in range(periods)]
    titles: list[list[int]] = []
    best = [-1] * n
    for row in reversed(paid_as):
        best = [max(a, b) for a, b in zip(best, row, strict=True)]
        titles.insert(0, best)

    def arr(rows: list[list[int]]) -> Any:
        return np.array(rows, dtype=np.int64).reshape(periods, n)

    return RankHistory(arr(qualified), arr(paid_as), arr(titles))


def _rates_by_rank(draw: st.DrawFn, ranks: list[dict[str, Any]],
                   bonuses: dict[str, Any]) -> None:
    """Now and then some ranks pay their own unilevel rates (deeper or shallower)."""
    if not draw(st.booleans()):
        return
    rate = st.sampled_from([0.0, 0.01, 0.05, 0.1])
    for rank in ranks:
        if draw(st.booleans()):
            rank["unilevel_infinity"] = draw(st.sampled_from([0.0, 0.01, 0.02, 0.02]))
        if draw(st.booleans()):
            rank.pop("unilevel_depth")
            rank["unilevel_rates"] = [draw(rate) for _ in range(draw(st.integers(0, 6)))]
    if len(ranks) > 1 and draw(st.booleans()):  # infinity is paid past shallow levels
        ranks[-1]["unilevel_infinity"] = 0.02
        for rank in ranks[:-1]:
            rank["unilevel_depth" if "unilevel_depth" in rank else "unilevel_rates"] = (
                0 if "unilevel_depth" in rank else [])
    if draw(st.booleans()) and any("unilevel_rates" in r for r in ranks) and all(
            r.get("unilevel_depth", 0) == 0 for r in ranks):
        bonuses["unilevel"]["rates"] = []


def _matching(draw: st.DrawFn, ranks: list[dict[str, Any]], bonuses: dict[str, Any]) -> None:
    if not draw(st.integers(0, 3)):
        return
    rate = st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.25])
    named = draw(st.lists(st.sampled_from(["unilevel", "unilevel", "fast_start", "stair_step",
                                           "customer_referral", "unilevel_infinity"]),
                          min_size=1, unique=True))
    bonuses["matching"] = {
        "bonuses": [b for b in named if b in bonuses or b == "unilevel_infinity"]
        or ["unilevel"],
        "rates": {r["name"]: [draw(rate) for _ in range(draw(st.integers(1, 3)))]
                  for r in ranks if draw(st.integers(0, 3))}}
    if draw(st.booleans()):
        bonuses["matching"]["generations_of"] = draw(st.sampled_from([r["name"] for r in ranks]))
    if "unilevel_generation" in bonuses and draw(st.booleans()):
        bonuses["matching"]["bonuses"].append("unilevel_generation")


def _unilevel_generation(draw: st.DrawFn, ranks: list[dict[str, Any]],
                         bonuses: dict[str, Any]) -> None:
    if not draw(st.booleans()):
        return
    rate = st.sampled_from([0.0, 0.01, 0.02, 0.03])
    bonuses["unilevel_generation"] = {
        "rank": draw(st.sampled_from([r["name"] for r in ranks])),
        "rates": {r["name"]: [draw(rate) for _ in range(draw(st.integers(1, 3)))]
                  for r in ranks if draw(st.integers(0, 3))} or {ranks[0]["name"]: [0.02]},
        "compression": draw(st.booleans()),
        "include_promotional": draw(st.booleans())}


def _customer_first_order(draw: st.DrawFn, bonuses: dict[str, Any]) -> None:
    if not draw(st.booleans()):
        return
    section: dict[str, Any] = {"rate": draw(st.sampled_from([0.0, 0.1, 0.25])),
                               "requires_active": draw(st.booleans())}
    which = draw(st.sampled_from(["orders", "window_days", "both"]))
    if which != "window_days":
        section["orders"] = draw(st.integers(1, 2))
    if which != "orders":
        section["window_days"] = draw(st.sampled_from([1, 10, 30]))
    bonuses["customer_first_order"] = section


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(company=companies(), p=plans(), data=st.data())
def test_vectorised_engine_equals_reference(company: Company, p: Any, data: st.DataObject) -> None:
    facts = company.facts()
    history = data.draw(histories(facts.genealogy.size, len(p.ranks)))
    if history.periods:
        prior = {i: int(t) for i, t in enumerate(history.title[0]) if t >= 0}
    else:
        prior = {i: 0 for i in range(0, facts.genealogy.size, 3)}
    withheld = data.draw(withheld_amounts(facts.genealogy.size))
    ref = run_reference(facts, p, prior, history, withheld)
    prior_arr = np.full(facts.genealogy.size, -1, dtype=np.int64)
    for i, r in prior.items():
        prior_arr[i] = r
    fast = run_engine(facts, p, prior_arr, history, withheld)
    assert fast.payouts.rows() == ref.payouts.rows()
    assert fast.skips.rows() == ref.skips.rows()
    assert fast.withheld is not None and ref.withheld is not None
    assert fast.withheld.rows() == ref.withheld.rows()
    assert fast.pv.tolist() == ref.pv.tolist()
    assert fast.gv.tolist() == ref.gv.tolist()
    assert fast.paid_as.tolist() == ref.paid_as.tolist()
    assert fast.title.tolist() == ref.title.tolist()
    assert fast.qualified is not None and ref.qualified is not None
    assert fast.qualified.tolist() == ref.qualified.tolist()
    assert fast.active_customers.tolist() == ref.active_customers.tolist()
    assert fast.customer_volume.tolist() == ref.customer_volume.tolist()
    assert (fast.total_cv, fast.cap_limit, fast.cap_applied) == (
        ref.total_cv, ref.cap_limit, ref.cap_applied)
    assert {k: v.tolist() for k, v in fast.carry.items()} == {
        k: v.tolist() for k, v in ref.carry.items()}
    event(f"payout lines: {min(ref.payouts.size, 5)}+; skips: {min(ref.skips.size, 5)}+")
    event(f"bonuses paid: {sorted(set(ref.payouts.bonus.tolist()))}")
    event(f"paid-as differs from qualified: {fast.paid_as.tolist() != fast.qualified.tolist()}")
    # A run loads only the periods the plan reads: with just those, the same result.
    kept = history_periods(p)
    if kept < history.periods:
        short = RankHistory(history.qualified[:kept], history.paid_as[:kept],
                            history.title[:kept])
        assert run_engine(facts, p, prior_arr, short, withheld).payouts.rows() == \
            fast.payouts.rows()
    advancement = ref.payouts.bonus == BONUS_TYPES.code["rank_advancement"]
    event(f"a later instalment paid: {bool((ref.payouts.volume[advancement] > 1).any())}")
    by_rank = any(r.unilevel_rates is not None or r.unilevel_infinity for r in p.ranks)
    event(f"rank rates or infinity: {by_rank}")
    for line in ("matching", "unilevel_infinity", "customer_first_order",
                 "unilevel_generation"):
        event(f"{line} paid: {bool((ref.payouts.bonus == BONUS_CODE[line]).any())}")
    withheld_now = bool((ref.skips.reason == REASON_CUSTOMER_SHARE).any())
    event(f"lines withheld by the compliance rule: {withheld_now}")
    released = ref.payouts.bonus == BONUS_CODE["withheld_release"]
    event(f"withheld amounts released: {bool(released.any())}")
    if released.any():
        # A release pays no more than was withheld from that member in that period.
        for who, level, amount in zip(ref.payouts.earner[released].tolist(),
                                      ref.payouts.level[released].tolist(),
                                      ref.payouts.amount[released].tolist(), strict=True):
            mine = (withheld.member == who) & (withheld.age == level - 1)
            assert amount == int(withheld.amount[mine].sum())


@given(st.lists(st.integers(0, 6), max_size=30), st.booleans())
def test_grouping_order_ids_equals_numpy_unique(keys: list[int], ascending: bool) -> None:
    from patronage.compensation.core.arrays import groups

    values = np.array(sorted(keys) if ascending else keys, dtype=np.int64)
    unique, inverse = groups(values)
    expected_unique, expected_inverse = np.unique(values, return_inverse=True)
    assert unique.tolist() == expected_unique.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()


@st.composite
def infinity_plans(draw: st.DrawFn) -> Any:
    """Two or three ranks by PV, each with its own short unilevel table, the higher ones with
    an infinity: plans where the infinity is often paid."""
    rate = st.sampled_from([0.0, 0.05, 0.1])
    ranks = [{"name": name, "min_pv": pv,
              "unilevel_rates": [draw(rate) for _ in range(draw(st.integers(0, 2)))],
              "unilevel_infinity": draw(st.sampled_from([0.0, 0.01, 0.02])) if pv > 100 else 0}
             for name, pv in (("A", 100), ("B", 150), ("C", 200))[:draw(st.integers(2, 3))]]
    bonuses: dict[str, Any] = {"unilevel": {
        "compression": draw(st.sampled_from(["none", "static", "dynamic"])),
        "include_promotional": draw(st.booleans())}}
    _unilevel_generation(draw, ranks, bonuses)
    _matching(draw, ranks, bonuses)
    return plan(ranks=ranks, bonuses=bonuses)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(company=companies(), p=infinity_plans())
def test_engines_agree_on_rates_by_rank_and_infinity(company: Company, p: Any) -> None:
    facts = company.facts()
    ref = run_reference(facts, p, {})
    fast = run_engine(facts, p)
    assert fast.payouts.rows() == ref.payouts.rows()
    assert fast.skips.rows() == ref.skips.rows()
    paid = set(ref.payouts.bonus.tolist())
    event(f"infinity paid: {BONUS_CODE['unilevel_infinity'] in paid}")
    event(f"matching paid: {BONUS_CODE['matching'] in paid}")
