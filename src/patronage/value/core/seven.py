"""The seven values of a customer, each a score 0–100 against the company's customers.

A score is a percentile: the share of customers whose measure is at most this customer's
(``100 × #{j : m_j ≤ m_i} / n``), and 0 when the measure is 0 (nothing shown yet scores nothing).
Where a value is money it also has an amount in minor units.

- consumption: the expected future consumption value (residual lifetime value); amount: that
  value.
- consistency: the mean of the percentiles of autoship tenure (months), regularity (share of the
  months since the first order that had an order) and 100 × P(alive).
- referral: the referral value (:mod:`patronage.value.core.referral`); amount: that value.
- rainmaker: distributors brought in (referred members who are distributors, and 1 if the
  customer upgraded), the CV of their teams in the last 12 months breaking ties; amount: that
  team CV as money (1 point = 1 currency unit).
- feedback: survey answers plus answers with a comment.
- testimonial: testimonials given plus 2 × those published.
- emotional: the mean of the percentiles of tenure (months since joining), personal touches made
  (sent or done) and touches answered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patronage.arrays import F64, I64

NAMES = ("consumption", "consistency", "referral", "rainmaker", "feedback", "testimonial",
         "emotional")


def percentile_score(measure: F64) -> F64:
    """``100 × #{j : m_j ≤ m_i} / n``; 0 where the measure is 0 or less."""
    n = measure.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    positive = measure > 0
    scores = np.zeros(n, dtype=np.float64)
    values = measure[positive]
    if values.size:
        # Everyone at or below zero counts below every positive measure. The sorted values are
        # looked up in order (each tie group's last place), then put back where they came from.
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        at_most = np.empty(values.size, dtype=np.int64)
        at_most[order] = np.searchsorted(ordered, ordered, side="right")
        scores[positive] = 100.0 * (at_most + (n - values.size)) / n
    return scores


def _mean_percentile(*measures: F64) -> F64:
    return np.asarray(np.mean(np.stack([percentile_score(m) for m in measures]), axis=0),
                      dtype=np.float64)


@dataclass(frozen=True)
class SevenInputs:
    """Per customer, the measures the seven values are scored on (arrays of one length)."""

    future_value: F64          # minor units
    autoship_months: F64
    regularity: F64            # 0..1
    p_alive: F64               # 0..1
    referral_value: F64        # minor units
    distributors_brought: F64  # count, including 1 for the customer's own upgrade
    team_cv: F64               # hundredths of a point, last 12 months
    survey_answers: F64
    survey_comments: F64
    testimonials_given: F64
    testimonials_published: F64
    tenure_months: F64
    touches: F64
    replies: F64


@dataclass(frozen=True)
class SevenValues:
    """Scores (n × 7, in :data:`NAMES` order) and amounts in minor units (0 where not money)."""

    scores: F64
    amounts: I64


def seven_values(inputs: SevenInputs) -> SevenValues:
    rainmaker = inputs.distributors_brought + inputs.team_cv / (1.0 + inputs.team_cv.max(initial=0))
    scores = np.stack([
        percentile_score(inputs.future_value),
        _mean_percentile(inputs.autoship_months, inputs.regularity, 100.0 * inputs.p_alive),
        percentile_score(inputs.referral_value),
        percentile_score(rainmaker),
        percentile_score(inputs.survey_answers + inputs.survey_comments),
        percentile_score(inputs.testimonials_given + 2.0 * inputs.testimonials_published),
        _mean_percentile(inputs.tenure_months, inputs.touches, inputs.replies),
    ], axis=1)
    zero = np.zeros_like(inputs.future_value)
    amounts = np.stack([inputs.future_value, zero, inputs.referral_value, inputs.team_cv,
                        zero, zero, zero], axis=1)
    return SevenValues(np.round(scores, 1), np.rint(amounts).astype(np.int64))
