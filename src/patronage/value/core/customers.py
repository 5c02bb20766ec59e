"""Every member's value from the company's facts, on arrays: lifetime value, referral value,
the seven values and the value at risk. No database; the service loads :class:`ValueFacts`.

Who is modelled how:
- a member with a live subscription (active, paused, or suspended-but-recoverable is *not*
  live: suspended counts as churned) is an autoship customer: :func:`lifetime.autoship_lifetimes`;
- every other member with an order is an occasional buyer: :func:`lifetime.occasional_lifetimes`;
- a member without orders has no lifetime value (model ``none``).
Distributors are valued as buyers too (their own orders), so that a customer who referred a
future distributor is credited with that person's value; scores rank customers only.

Value at risk: ``risk × (future value + referral value)``, where ``risk`` starts at
``1 − P(alive)`` and is raised for payment trouble (at least 0.5 while an autoship payment is
being recovered or after suspension), for P(alive) falling by 0.1 or more since the previous run
(+0.1) and for no personal touch in ``touch_gap_days`` (+0.1), capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I8, I64, Bools, fsum_by
from patronage.value.core.lifetime import (
    SegmentFit,
    autoship_lifetimes,
    occasional_lifetimes,
)
from patronage.value.core.referral import referral_value
from patronage.value.core.seven import SevenInputs, seven_values
from patronage.value.core.transactions import summarise

DAY = 86_400
MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class ValueSettings:
    discount_monthly: float = 0.01
    horizon_months: int = 12
    referral_decay: float = 0.5
    touch_gap_days: int = 90


@dataclass(frozen=True)
class ValueFacts:
    """Per member (index ``0..n-1``) and per order / subscription, all as of ``now``."""

    now: int  # unix seconds
    member_id: I64
    is_customer: Bools
    joined_at: I64
    referrer: I64  # member index, -1
    segment: I64  # a small code per member (e.g. the enrollment channel)
    is_distributor: Bools
    upgraded: Bools  # a customer who became a distributor
    team_cv: I64  # hundredths of a point: the member's sponsor group CV over the last 12 months
    order_member: I64
    order_at: I64
    order_total: I64  # minor units, net of refunds
    sub_member: I64
    sub_started: I64
    sub_ended: I64  # -1 while running
    sub_live: Bools
    sub_trouble: Bools  # a payment being recovered, or suspended
    sub_amount: I64  # what the next charge will be, minor units
    survey_answers: I64
    survey_comments: I64
    testimonials_given: I64
    testimonials_published: I64
    touches: I64
    replies: I64
    last_touch: I64  # unix seconds, -1: never
    previous_p_alive: F64  # NaN: no previous run


@dataclass(frozen=True)
class MemberValues:
    model: I8  # 0 none, 1 sbg, 2 bgnbd
    p_alive: F64
    expected_orders: F64
    past_value: I64
    future_value: I64
    referral_value: I64
    risk: F64
    value_at_risk: I64
    risk_flags: I8  # RISK_* bits
    scores: F64  # n × 7
    amounts: I64  # n × 7
    fits: list[SegmentFit]
    source: I8  # 0 none (no model), 1 fitted, 2 prior: see SOURCES


MODELS = ("none", "sbg", "bgnbd")
MODEL_NONE, MODEL_SBG, MODEL_BGNBD = range(3)
#: Where a member's lifetime value comes from: no model, models fitted on the company's data,
#: or (any part of it) a documented prior because a model could not be fitted yet.
SOURCES = ("none", "fitted", "prior")
SOURCE_NONE, SOURCE_FITTED, SOURCE_PRIOR = range(3)
RISK_PAYMENT, RISK_FALLING, RISK_UNTOUCHED = 1, 2, 4
RISK_WORDS = {RISK_PAYMENT: "payment trouble", RISK_FALLING: "P(alive) falling",
              RISK_UNTOUCHED: "no personal touch lately"}


def risk_words(flags: int) -> list[str]:
    """The reasons behind a member's risk flags, in words."""
    return [words for bit, words in RISK_WORDS.items() if flags & bit]


def _months(seconds: I64) -> F64:
    return np.asarray(seconds / (DAY * MONTH_DAYS), dtype=np.float64)


def value_members(f: ValueFacts, settings: ValueSettings) -> MemberValues:
    n = f.member_id.shape[0]
    d = settings.discount_monthly
    past = fsum_by(f.order_member, f.order_total, n)
    model = np.zeros(n, dtype=np.int8)
    p_alive = np.zeros(n)
    expected = np.zeros(n)
    future = np.zeros(n)
    from_prior = np.zeros(n, dtype=bool)
    fits: list[SegmentFit] = []

    # Autoship: every subscription ever started is an observation; the live ones are valued.
    if f.sub_member.size:
        end = np.where(f.sub_ended >= 0, f.sub_ended, f.now)
        # A cancelled subscription churned in the month it was cancelled in (t ≥ 1); a live
        # one has survived its completed months n (S(n) is its likelihood).
        completed = np.floor(_months(end - f.sub_started))
        churned = (~f.sub_live).astype(np.float64)
        months = completed + churned
        sub_fits, life = autoship_lifetimes(
            months, churned, f.segment[f.sub_member],
            f.sub_live, f.sub_amount.astype(np.float64), d, settings.horizon_months)
        fits += sub_fits
        live = f.sub_live
        # A member with several live subscriptions: their values add up, P(alive) is the best.
        members = f.sub_member[live]
        np.add.at(expected, members, life.expected_orders[live])
        np.add.at(future, members, life.future_value[live])
        np.maximum.at(p_alive, members, life.p_alive[live])
        from_prior[members[life.from_prior[live]]] = True
        model[members] = MODEL_SBG

    # Occasional buyers: everyone else with an order.
    occasional = (model == MODEL_NONE)[f.order_member]
    if occasional.any():
        day = f.order_at[occasional] // DAY
        s = summarise(f.order_member[occasional], day, f.order_total[occasional].astype(float),
                      int(f.now // DAY), 7.0)
        occ_fits, life = occasional_lifetimes(s.x, s.t_x, s.T, s.m, f.segment[s.customer], d,
                                              settings.horizon_months, first_spend=s.first)
        fits += occ_fits
        from_prior[s.customer] = life.from_prior
        p_alive[s.customer] = life.p_alive
        expected[s.customer] = life.expected_orders
        future[s.customer] = life.future_value
        model[s.customer] = MODEL_BGNBD

    future_units = np.rint(future).astype(np.int64)
    referral = np.rint(referral_value(f.referrer, future + past, settings.referral_decay))

    # Rainmaker: distributors a member referred, their own upgrade, and those teams' CV.
    brought = f.is_distributor & (f.referrer >= 0)
    distributors_brought = (np.bincount(f.referrer[brought], minlength=n)
                            + f.upgraded.astype(np.int64))
    team_cv = (fsum_by(f.referrer[brought], f.team_cv[brought], n)
               + np.where(f.upgraded, f.team_cv, 0))

    # Consistency: months of autoship, share of months with an order since the first order.
    tenure_autoship = np.zeros(n)
    if f.sub_member.size:
        np.maximum.at(tenure_autoship, f.sub_member[f.sub_live],
                      _months(f.now - f.sub_started[f.sub_live]))
    month_of = (f.order_at // int(DAY * MONTH_DAYS)).astype(np.int64)
    keys = np.sort(f.order_member * 1_000_000 + month_of)
    distinct = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys
    months_with = np.bincount(distinct // 1_000_000, minlength=n)
    first = np.full(n, f.now, dtype=np.int64)
    np.minimum.at(first, f.order_member, f.order_at)
    span = np.maximum(np.floor(_months(f.now - first)) + 1, 1)
    regularity = np.where(months_with > 0, np.minimum(months_with / span, 1.0), 0.0)

    customers = f.is_customer
    inputs = SevenInputs(
        future_value=future[customers], autoship_months=tenure_autoship[customers],
        regularity=regularity[customers], p_alive=p_alive[customers],
        referral_value=referral[customers],
        distributors_brought=distributors_brought[customers].astype(float),
        team_cv=team_cv[customers].astype(float),
        survey_answers=f.survey_answers[customers].astype(float),
        survey_comments=f.survey_comments[customers].astype(float),
        testimonials_given=f.testimonials_given[customers].astype(float),
        testimonials_published=f.testimonials_published[customers].astype(float),
        tenure_months=_months(f.now - f.joined_at[customers]),
        touches=f.touches[customers].astype(float), replies=f.replies[customers].astype(float))
    seven = seven_values(inputs)
    scores = np.zeros((n, 7))
    amounts = np.zeros((n, 7), dtype=np.int64)
    scores[customers] = seven.scores
    amounts[customers] = seven.amounts

    # Value at risk.
    trouble = np.zeros(n, dtype=bool)
    if f.sub_member.size:
        trouble[f.sub_member[f.sub_trouble]] = True
    falling = ~np.isnan(f.previous_p_alive) & (f.previous_p_alive - p_alive >= 0.1)
    untouched = (f.last_touch < 0) | (f.now - f.last_touch > settings.touch_gap_days * DAY)
    risk = 1.0 - p_alive
    risk = np.where(trouble, np.maximum(risk, 0.5), risk)
    risk = np.minimum(risk + 0.1 * falling + 0.1 * untouched, 1.0)
    risk = np.where(model == MODEL_NONE, 0.0, risk)
    at_risk = np.rint(risk * (future + referral)).astype(np.int64)
    flags = (RISK_PAYMENT * trouble + RISK_FALLING * falling
             + RISK_UNTOUCHED * (untouched & (model != MODEL_NONE))).astype(np.int8)
    source = np.where(model == MODEL_NONE, SOURCE_NONE,
                      np.where(from_prior, SOURCE_PRIOR, SOURCE_FITTED)).astype(np.int8)
    return MemberValues(model, p_alive, expected, np.rint(past).astype(np.int64), future_units,
                        referral.astype(np.int64), risk, at_risk, flags, scores, amounts, fits,
                        source)
