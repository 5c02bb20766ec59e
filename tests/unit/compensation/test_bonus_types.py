"""Bonus types are modules in a registry: a new type is one module and its tests.

``SponsorMatch`` below is such a module, written here and registered for these tests only: the
plan file reads its section and runs its checks, both engines pay it, and they agree to the
cent on generated companies, with nothing else in the package changed."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import field_validator

from patronage.compensation.core.arrays import round_rate, take
from patronage.compensation.core.bonuses import BONUS_TYPES, BonusType, Refunded
from patronage.compensation.core.bonuses.state import PayState, ReferenceState
from patronage.compensation.core.codes import SOURCE_MEMBER
from patronage.compensation.core.engine import run_engine
from patronage.compensation.core.plan import default_plan_path, load_plan, parse_plan
from patronage.compensation.core.reference import run_reference
from patronage.compensation.core.results import BONUSES
from patronage.compensation.core.units import BP, Strict, bp, hundredths
from patronage.errors import Problems
from patronage.money import round_half_away
from tests.unit.compensation.builders import Company, Line
from tests.unit.compensation.test_engines_agree import companies

if TYPE_CHECKING:
    from patronage.compensation.core.plan import Plan


class SponsorMatch(Strict):
    """``rate`` of each active distributor's own CV to their sponsor, at most ``max_amount``
    a line; an inactive sponsor's match lapses."""

    rate: int
    max_amount: int

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, v: Any) -> int:
        return bp(v)

    @field_validator("max_amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> int:
        return hundredths(v)


class SponsorMatchBonus(BonusType[SponsorMatch]):
    name = "sponsor_match"
    model = SponsorMatch
    lines: ClassVar[dict[str, int]] = {"sponsor_match": len(BONUSES)}
    money = ("max_amount",)

    def check(self, plan: Plan, section: SponsorMatch) -> list[tuple[str, str]]:
        if section.rate * 2 > BP:
            return [("bonuses.sponsor_match.rate", "a match above 50% pays more than unilevel")]
        return []

    def pay(self, st: PayState, section: SponsorMatch) -> None:
        volume_of = st.personal_cv(include_promotional=False)
        sources = np.flatnonzero(st.active & (volume_of > 0) & (st.parent >= 0))
        sponsor = st.parent[sources]
        paid = st.active[sponsor]
        lost_from, lost = take(~paid, sources, sponsor)
        st.add_skip("sponsor_match", SOURCE_MEMBER, lost_from, 0, lost, st.reason(lost, 0), -1)
        earner, source = take(paid, sponsor, sources)
        volume = volume_of[source]
        st.add_pay(earner, "sponsor_match", SOURCE_MEMBER, source, 0, volume, section.rate,
                   np.minimum(round_rate(volume, section.rate), section.max_amount))

    def reference(self, st: ReferenceState, section: SponsorMatch) -> None:
        for source, volume in sorted(st.personal_cv(include_promotional=False).items()):
            sponsor = st.parent[source]
            if not st.active[source] or volume <= 0 or sponsor < 0:
                continue
            if not st.active[sponsor]:
                st.add_skip("sponsor_match", SOURCE_MEMBER, source, 0, sponsor,
                            st.reason(sponsor, 0), -1)
                continue
            amount = min(round_half_away(volume * section.rate, BP), section.max_amount)
            st.add_pay(sponsor, "sponsor_match", SOURCE_MEMBER, source, 0, volume, section.rate,
                       amount)


WITH_MATCH = BONUS_TYPES.extended(SponsorMatchBonus())


def match_plan(rate: float = 0.1, max_amount: float = 5, **bonuses: Any) -> Any:
    return parse_plan({
        "plan": {"name": "test", "version": "m1"},
        "active": {"min_pv": 100},
        "ranks": [{"name": "Member", "min_pv": 100, "unilevel_depth": 2}],
        "bonuses": {"sponsor_match": {"rate": rate, "max_amount": max_amount}, **bonuses},
    }, "match.toml", WITH_MATCH)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(company=companies(), rate=st.sampled_from([0.0, 0.05, 0.5]),
       max_amount=st.sampled_from([0, 1, 1000]), capped=st.booleans())
def test_a_registered_type_is_paid_alike_by_both_engines(company: Company, rate: float,
                                                          max_amount: float,
                                                          capped: bool) -> None:
    extra = {"unilevel": {"rates": [0.05, 0.02]}}
    p = match_plan(rate, max_amount, **extra)
    if capped:
        p = parse_plan({"plan": {"name": "test", "version": "m1"}, "active": {"min_pv": 100},
                        "ranks": [{"name": "Member", "min_pv": 100, "unilevel_depth": 2}],
                        "bonuses": {"sponsor_match": {"rate": rate, "max_amount": max_amount},
                                    **extra},
                        "cap": {"max_share_of_cv": 0.05, "bonuses": ["sponsor_match"]}},
                       "match.toml", WITH_MATCH)
    facts = company.facts()
    fast = run_engine(facts, p)
    ref = run_reference(facts, p, {})
    assert fast.payouts.rows() == ref.payouts.rows()
    assert fast.skips.rows() == ref.skips.rows()
    assert (fast.cap_limit, fast.cap_applied) == (ref.cap_limit, ref.cap_applied)


def test_the_new_type_pays_its_own_lines_with_the_next_code() -> None:
    # 0 sponsors 1 sponsors 2; 1 and 2 are active; 2's CV is matched to 1, 1's to 0 (inactive).
    company = Company(parent=[-1, 0, 1], kind=[2, 2, 2],
                      lines=[Line(1, 10000, 8000), Line(2, 20000, 30000)])
    p = match_plan(rate=0.1, max_amount=25)
    code = WITH_MATCH.code["sponsor_match"]
    assert code == len(BONUSES)  # after every stored code, none renumbered
    for run in (run_engine(company.facts(), p), run_reference(company.facts(), p, {})):
        assert run.payouts.rows() == [(1, code, SOURCE_MEMBER, 2, 0, 30000, 1000, 2500)]
        assert [row[:5] for row in run.skips.rows()] == [(code, SOURCE_MEMBER, 1, 0, 0)]


def test_its_section_is_read_and_checked_and_unknown_elsewhere() -> None:
    with pytest.raises(Problems) as caught:
        match_plan(rate=0.6, max_amount=1.234)
    text = str(caught.value)
    assert "match.toml: bonuses.sponsor_match.max_amount: 1.234 has more than 2 decimal" in text
    with pytest.raises(Problems) as caught:
        match_plan(rate=0.6)
    assert ("match.toml: bonuses.sponsor_match.rate: a match above 50% pays more than unilevel"
            in str(caught.value))
    with pytest.raises(Problems) as caught:  # the shipped registry does not know it
        parse_plan({"plan": {"name": "x", "version": "1"}, "active": {"min_pv": 1},
                    "ranks": [{"name": "A", "min_pv": 1}],
                    "bonuses": {"sponsor_match": {"rate": 0.1, "max_amount": 1}}}, "x.toml")
    assert "x.toml: bonuses.sponsor_match: unknown bonus type" in str(caught.value)


def test_money_amounts_are_listed_by_key_path() -> None:
    assert match_plan(max_amount=7.5).money_amounts() == {
        "bonuses.sponsor_match.max_amount": 750}
    example = load_plan(default_plan_path())
    assert set(example.money_amounts()) == {"bonuses.customer_acquisition.amount",
                                           "bonuses.customer_referral.cap"}


def test_money_amounts_convert_and_nothing_else_does() -> None:
    example = load_plan(default_plan_path())
    doubled = example.convert_money(lambda amount: amount * 2)
    assert doubled.money_amounts() == {k: v * 2 for k, v in example.money_amounts().items()}
    assert doubled.model_dump(exclude={"bonuses"}) == example.model_dump(exclude={"bonuses"})
    for name in ("fast_start", "unilevel", "stair_step", "retail_profit"):
        assert getattr(doubled.bonuses, name) == getattr(example.bonuses, name)
    assert doubled.bonuses.registry is example.bonuses.registry
    matched = match_plan(max_amount=3).convert_money(lambda amount: amount + 1)
    assert matched.money_amounts() == {"bonuses.sponsor_match.max_amount": 301}


def test_a_shipped_plan_pickles_and_copies() -> None:
    example = load_plan(default_plan_path())
    assert pickle.loads(pickle.dumps(example)) == example


def test_defaults_word_the_lines_and_claw_nothing_back() -> None:
    bonus = WITH_MATCH.of_line("sponsor_match")
    assert bonus.label("sponsor_match", 0) == "sponsor match"
    assert bonus.label("sponsor_match", 2) == "sponsor match level 2"
    assert bonus.clawback_base(None, Refunded(100, 100, 100, "consumption")) == 0
    assert WITH_MATCH.clawed_lines("order") == ("retail_profit", "fast_start",
                                                "customer_first_order")
    assert WITH_MATCH.clawed_lines("member") == ("unilevel", "unilevel_infinity",
                                                 "unilevel_generation")
    assert WITH_MATCH.clawed_lines("buyer") == ("customer_acquisition",)


def test_stored_line_codes_never_move() -> None:
    # Payout and skip lines store these numbers: each bonus module states its own.
    assert BONUSES == ("retail_profit", "fast_start", "unilevel", "customer_acquisition",
                       "customer_referral", "stair_step", "generation", "rank_advancement",
                       "pool", "unilevel_generation", "matching", "customer_first_order",
                       "unilevel_infinity", "binary", "withheld_release")
    assert BONUS_TYPES.codes_of(["stair_step"]) == [5, 6]


def test_a_registry_refuses_clashing_codes_and_names() -> None:
    with pytest.raises(ValueError, match="codes"):
        BONUS_TYPES.extended(type("Clash", (SponsorMatchBonus,),
                                  {"name": "clash", "lines": {"clash": 0}})())
    with pytest.raises(ValueError, match="same name"):
        BONUS_TYPES.extended(type("Clash", (SponsorMatchBonus,),
                                  {"name": "clash", "lines": {"unilevel": len(BONUSES)}})())
    with pytest.raises(ValueError, match="section name"):
        BONUS_TYPES.extended(SponsorMatchBonus(), SponsorMatchBonus())
