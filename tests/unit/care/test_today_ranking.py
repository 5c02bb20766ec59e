"""Today's ranking: worth = (value at risk + occasion + priority) × freshness, expiry, limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patronage.care.core.today import Candidate, expired, freshness, rank, worth
from patronage.errors import PatronageError

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_worth_adds_value_at_risk_occasion_and_priority_on_the_day() -> None:
    c = Candidate(1, "birthday", NOW - timedelta(hours=3), value_at_risk=12_345, priority=10)
    assert worth(c, NOW) == 12_345 + 5_000 + 10 * 100


def test_a_personal_occasion_halves_every_day_late_others_fade_slowly() -> None:
    bday = Candidate(1, "birthday", NOW - 2 * DAY - timedelta(hours=1))
    thanks = Candidate(2, "first_order", NOW - 7 * DAY)
    assert freshness(bday, NOW) == 0.25
    assert worth(bday, NOW) == 1_250
    assert freshness(thanks, NOW) == 0.5
    assert worth(thanks, NOW) == 2_000


def test_coming_up_counts_a_little_less_than_today() -> None:
    c = Candidate(1, "order", NOW + timedelta(hours=5))
    assert worth(c, NOW) == round(1_500 * 0.8)


def test_worth_rounds_half_to_even() -> None:
    # 1_500 × 7/8 = 1312.5 → 1312 (half to even)
    c = Candidate(1, "order", NOW - DAY)
    assert worth(c, NOW) == 1_312


def test_rank_orders_by_worth_then_due_then_key_and_keeps_at_most_the_limit() -> None:
    cands = [Candidate(i, "no_touch", NOW - timedelta(minutes=i)) for i in range(1, 13)]
    cands.append(Candidate(50, "value_at_risk", NOW - DAY, value_at_risk=90_000))
    day = rank(cands, NOW, limit=10, grace_days=3)
    assert len(day.items) == 10 and day.more == 3
    assert day.items[0].candidate.key == 50
    assert day.items[0].days_late == 1
    # equal worth: the earlier due first (the larger i is due earlier)
    assert [r.candidate.key for r in day.items[1:4]] == [12, 11, 10]


def test_a_passed_personal_occasion_expires_after_the_grace_and_leaves_the_list() -> None:
    late = Candidate(1, "birthday", NOW - 3 * DAY - timedelta(minutes=1))
    in_grace = Candidate(2, "anniversary", NOW - 3 * DAY + timedelta(minutes=1))
    event = Candidate(3, "first_order", NOW - 30 * DAY)
    assert expired(late, NOW, 3) and not expired(in_grace, NOW, 3)
    assert not expired(event, NOW, 3)  # a thank-you never expires here
    assert [r.candidate.key for r in rank([late, in_grace, event], NOW, limit=10,
                                          grace_days=3).items] == [3, 2]
    assert expired(Candidate(4, "holiday", NOW - timedelta(seconds=1)), NOW, 0)


def test_bad_limits_are_refused_naming_the_setting() -> None:
    with pytest.raises(PatronageError, match="limit: 0 must be at least 1"):
        rank([], NOW, limit=0, grace_days=1)
    with pytest.raises(PatronageError, match="grace_days: -1"):
        expired(Candidate(1, "birthday", NOW), NOW, -1)
