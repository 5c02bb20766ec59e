"""The simulator's bars: one run per seed, the napkin's geometric series when nothing saturates
or leaves, and never more people than the market holds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.compensation.core.plan import default_plan_path, load_plan
from patronage.errors import Problems
from patronage.simulator.core.params import Models, Params
from patronage.simulator.core.simulation import simulate

PLAN = load_plan(default_plan_path())


def _without_time(rows: list) -> list[dict]:
    return [{k: v for k, v in r.as_dict().items() if not k.startswith("seconds")} for r in rows]


def test_the_same_seed_gives_the_same_months_and_another_seed_does_not() -> None:
    params = Params(market=20_000, founders=30, recruits_per_distributor=0.3)
    a = simulate(PLAN, params, Models.priors(), 18, seed=7)
    b = simulate(PLAN, params, Models.priors(), 18, seed=7)
    c = simulate(PLAN, params, Models.priors(), 18, seed=8)
    assert _without_time(a.rows) == _without_time(b.rows)
    assert a.people == b.people
    assert _without_time(a.rows) != _without_time(c.rows)
    assert any(r.payout > 0 for r in a.rows)  # the plan paid something on the way


def test_without_saturation_and_attrition_growth_is_the_geometric_series() -> None:
    # Each distributor brings exactly k distributors and c customers a month; nobody leaves.
    founders, k, c = 3, 2, 1
    params = Params(market=0, founders=founders, recruits_per_distributor=k,
                    customers_per_distributor=c, referrals_per_customer=0, attachment=0,
                    upgrade_rate=0, first_year_dropout=0, later_dropout=0, churn_scale=0)
    sim = simulate(PLAN, params, Models.priors(), 7, seed=1)
    for m, row in enumerate(sim.rows):  # row m (0-based): the end of month m's joins
        assert row.distributors == founders * (1 + k) ** m
        assert row.customers == c * founders * ((1 + k) ** m - 1) // k
        assert row.new_distributors == (founders if m == 0 else founders * k * (1 + k) ** (m - 1))
        assert row.left_distributors == row.left_customers == 0
    # D_6 + C_6 = 3·3⁶ + 3·(3⁶ − 1)/2 = 2187 + 1092
    assert sim.people == 3279


def test_saturation_slows_growth_below_the_series() -> None:
    base = Params(market=0, founders=10, recruits_per_distributor=1, customers_per_distributor=0,
                  referrals_per_customer=0, attachment=0, upgrade_rate=0, first_year_dropout=0,
                  later_dropout=0, churn_scale=0)
    free = simulate(PLAN, base, Models.priors(), 8, seed=3)
    capped = simulate(PLAN, replace(base, market=1_000), Models.priors(), 8, seed=3)
    assert free.rows[-1].distributors == 10 * 2 ** 7
    assert capped.rows[-1].distributors < 1_000
    growth = [b.new_distributors / max(a.distributors, 1)
              for a, b in zip(capped.rows, capped.rows[1:], strict=False)]
    assert growth[-1] < growth[1]  # the share of the market left shrinks each month


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market=st.integers(1, 3_000), founders=st.integers(1, 50),
       recruits=st.floats(0, 6), customers=st.floats(0, 6), referrals=st.floats(0, 3),
       upgrade=st.floats(0, 1), months=st.integers(1, 10), seed=st.integers(0, 2**32 - 1))
def test_the_network_never_exceeds_a_finite_market(market: int, founders: int, recruits: float,
                                                   customers: float, referrals: float,
                                                   upgrade: float, months: int,
                                                   seed: int) -> None:
    founders = min(founders, market)
    params = Params(market=market, founders=founders, recruits_per_distributor=recruits,
                    customers_per_distributor=customers, referrals_per_customer=referrals,
                    upgrade_rate=upgrade)
    sim = simulate(PLAN, params, Models.priors(), months, seed)
    assert sim.people <= market
    for row in sim.rows:
        assert row.reached <= market
        assert row.distributors + row.customers <= row.reached
        assert 0 <= row.market_reached <= 1


def test_bad_parameters_are_refused_naming_each() -> None:
    bad = Params(market=-5, recruits_per_distributor=float("nan"), autoship_share=1.5)
    with pytest.raises(Problems) as caught:
        simulate(PLAN, bad, Models.priors(), 0, seed=1)
    places = {p.place for p in caught.value.problems}
    assert places == {"params.market", "params.recruits_per_distributor",
                      "params.autoship_share", "months"}
    models = Models({"alpha": 0.0, "beta": 1.0}, Models.priors().bgnbd,
                    Models.priors().gamma_gamma, {})
    with pytest.raises(Problems, match=r"models\.sbg\.alpha"):
        simulate(PLAN, Params(), models, 3, seed=1)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(Problems, match=r"params\.recruits: unknown parameter"):
        Params().with_values({"recruits": 3})
