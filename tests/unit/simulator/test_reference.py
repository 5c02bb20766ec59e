"""The simulator's vectorised steps equal its plain reference (same inputs, same draws)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.facts import KIND_DISTRIBUTOR
from patronage.network.core.genealogy import build
from patronage.simulator.core import reference
from patronage.simulator.core.month import leaving, stochastic_round
from patronage.simulator.core.outputs import MonthArrays, month_figures
from patronage.simulator.core.params import Params
from patronage.simulator.core.population import roll_up


@st.composite
def trees(draw: st.DrawFn, max_size: int = 40) -> tuple[list[int], list[int]]:
    """Parents that precede their children; kinds with customers as leaves only."""
    n = draw(st.integers(1, max_size))
    parent, kind = [], []
    for i in range(n):
        dist_before = [j for j in range(i) if kind[j] == KIND_DISTRIBUTOR]
        p = draw(st.sampled_from([-1, *dist_before])) if dist_before else -1
        parent.append(p)
        kind.append(draw(st.sampled_from([0, 1, 2, 2])))
    return parent, kind


@settings(max_examples=200, deadline=None)
@given(tree=trees(), data=st.data())
def test_roll_up_equals_the_reference(tree: tuple[list[int], list[int]],
                                      data: st.DataObject) -> None:
    parent, _ = tree
    alive = data.draw(st.lists(st.booleans(), min_size=len(parent), max_size=len(parent)))
    got = roll_up(np.array(parent, dtype=np.int64), np.array(alive))
    assert got.tolist() == reference.roll_up(parent, alive)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.tuples(st.floats(0, 20), st.floats(0, 1, exclude_max=True)),
                       max_size=50))
def test_stochastic_rounding_equals_the_reference(values: list[tuple[float, float]]) -> None:
    expected = [e for e, _ in values]
    u = [x for _, x in values]
    got = stochastic_round(np.array(expected, dtype=float), np.array(u, dtype=float))
    assert got.tolist() == reference.stochastic_round(expected, u)


@settings(max_examples=150, deadline=None)
@given(tree=trees(), data=st.data(), expenses=st.integers(0, 10_000),
       threshold=st.sampled_from([0.0, 0.5, 0.8, 1.0]))
def test_month_figures_equal_the_reference(tree: tuple[list[int], list[int]],
                                           data: st.DataObject, expenses: int,
                                           threshold: float) -> None:
    parent, kind = tree
    n = len(parent)
    k = data.draw(st.integers(0, 60))
    buyer = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    customer = [kind[b] != KIND_DISTRIBUTOR for b in buyer]
    credited = [parent[b] if c else b for b, c in zip(buyer, customer, strict=True)]
    qv = data.draw(st.lists(st.integers(0, 50_000), min_size=k, max_size=k))
    amount = data.draw(st.lists(st.integers(0, 60_000), min_size=k, max_size=k))
    promo = data.draw(st.lists(st.booleans(), min_size=k, max_size=k))
    promo = [p and not c for p, c in zip(promo, customer, strict=True)]
    earned = data.draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n))
    ordered = [False] * n
    for b in buyer:
        ordered[b] = True
    g = build(np.arange(1, n + 1, dtype=np.int64), np.array(parent, dtype=np.int64),
              kind=np.array(kind, dtype=np.int8))

    def arr(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    arrays = MonthArrays(g, arr(buyer), arr(credited), arr(qv), arr(qv), arr(amount),
                         np.array(promo, dtype=bool), np.array(customer, dtype=bool),
                         arr(earned), np.array(ordered, dtype=bool))
    lines = [{"buyer": b, "credited_to": c, "qv": q, "amount": a, "promotional": p,
              "customer_purchase": cp}
             for b, c, q, a, p, cp in zip(buyer, credited, qv, amount, promo, customer,
                                          strict=True)]
    got = month_figures(arrays, expenses, threshold)
    want = reference.month_figures(parent, kind, lines, earned, ordered, expenses, threshold)
    assert got == want


@settings(max_examples=200, deadline=None)
@given(people=st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.integers(0, 40),
                                 st.floats(0, 1), st.floats(0, 1), st.integers(0, 6),
                                 st.floats(0, 1, exclude_max=True)), max_size=60),
       first=st.floats(0, 1), later=st.floats(0, 1), scale=st.sampled_from([0.0, 0.5, 1.0]))
def test_drop_outs_equal_the_reference(people: list[tuple[int, int, float, float, int, float]],
                                       first: float, later: float, scale: float) -> None:
    kind, tenure, theta, drop, purchases, u = (list(c) for c in zip(*people, strict=True)) \
        if people else ([], [], [], [], [], [])
    p = Params(first_year_dropout=first, later_dropout=later, churn_scale=scale)
    got = leaving(np.array(kind, dtype=np.int64), np.array(tenure, dtype=np.int64),
                  np.array(theta, dtype=float), np.array(drop, dtype=float),
                  np.array(purchases, dtype=np.int64), np.array(u, dtype=float), p)
    want = reference.leaving(kind, tenure, theta, drop, purchases, u, first, later, scale)
    assert got.tolist() == want
