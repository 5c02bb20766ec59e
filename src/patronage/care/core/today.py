"""Today: which of a distributor's open touches are worth making today, and in what order.

A pure function of ``now`` and the candidates (no database). Each candidate is an open task or
card for one customer; its *worth* is, in minor units of the customer's value:

    worth = (value at risk + occasion worth + priority × 1.00) × freshness

- *value at risk*: what the latest customer value run says may be lost with this customer;
- *occasion worth* (:data:`OCCASION_WORTH`): a birthday or a failed payment matters more than a
  routine check-in;
- *freshness*: 1 on or before the day; then, for a personal occasion (birthday, anniversary,
  holiday), halved for every day late (a birthday call two days late is worth a quarter); for
  other occasions, the value fades slowly (×7/(7 + days late)), as a thank-you a week late is
  still welcome. A touch due later today or tomorrow counts ×0.8 (a little ahead is fine).

A personal occasion whose day passed more than the grace period ago *expires* instead of piling
up: :func:`expired` says which. The list is cut to at most ``limit`` items; ties go to the
earlier due time, then the lower key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patronage.care.core.occasions import CALENDAR
from patronage.errors import PatronageError

#: Occasions tied to one day in a person's life: past that day (and the grace), they expire.
PERSONAL: tuple[str, ...] = CALENDAR
#: What an occasion is worth by itself, in minor units (100 = 1.00 of the company currency).
OCCASION_WORTH: dict[str, int] = {
    "birthday": 5_000, "anniversary": 3_000, "holiday": 1_000, "first_order": 4_000,
    "order": 1_500, "referral": 4_000, "testimonial": 2_500, "survey_answered": 2_000,
    "new_contact": 3_000, "no_touch": 1_000, "payment_failed": 6_000,
    "autoship_cancelled": 5_000, "value_at_risk": 2_000,
}
DEFAULT_WORTH = 1_000
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Candidate:
    """One open touch a distributor could make."""

    key: int
    occasion: str
    due_at: datetime
    value_at_risk: int = 0
    priority: int = 0


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    worth: int
    #: whole days past the due day (0 on the day or before)
    days_late: int


@dataclass(frozen=True)
class Day:
    """The day's list: at most ``limit`` items, best first; how many more were left off."""

    items: list[Ranked]
    more: int


def days_late(due_at: datetime, now: datetime) -> int:
    return max(0, (now - due_at) // DAY)


def expired(c: Candidate, now: datetime, grace_days: int) -> bool:
    """A personal occasion more than ``grace_days`` days past its day."""
    if grace_days < 0:
        raise PatronageError(f"grace_days: {grace_days} must not be negative")
    return c.occasion in PERSONAL and now - c.due_at > timedelta(days=grace_days)


def freshness(c: Candidate, now: datetime) -> float:
    late = days_late(c.due_at, now)
    if c.due_at > now:
        return 0.8
    if c.occasion in PERSONAL:
        return 0.5 ** late
    return 7 / (7 + late)


def worth(c: Candidate, now: datetime) -> int:
    """The candidate's worth today, in minor units (rounded half to even)."""
    base = max(0, c.value_at_risk) + OCCASION_WORTH.get(c.occasion, DEFAULT_WORTH) \
        + max(0, c.priority) * 100
    return round(base * freshness(c, now))


def rank(candidates: list[Candidate], now: datetime, *, limit: int,
         grace_days: int) -> Day:
    """The candidates worth doing today, best first, at most ``limit`` (expired ones left out:
    find them with :func:`expired`)."""
    if limit < 1:
        raise PatronageError(f"limit: {limit} must be at least 1")
    live = [c for c in candidates if not expired(c, now, grace_days)]
    ranked = sorted((Ranked(c, worth(c, now), days_late(c.due_at, now)) for c in live),
                    key=lambda r: (-r.worth, r.candidate.due_at, r.candidate.key))
    return Day(ranked[:limit], max(0, len(ranked) - limit))
