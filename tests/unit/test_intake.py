"""The bounds a member record is checked against at the door, at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patronage.errors import PatronageError
from patronage.network.intake import (
    EARLIEST_JOINED,
    JOINED_AHEAD,
    check_birth_year,
    check_joined_at,
    email_problem,
    normalise_email,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_join_dates_are_accepted_up_to_their_edges_and_refused_past_them() -> None:
    check_joined_at(EARLIEST_JOINED, NOW)
    check_joined_at(NOW + JOINED_AHEAD, NOW)
    with pytest.raises(PatronageError, match=r"^joined_at: 1969-12-31T23:59:59\+00:00 is before"):
        check_joined_at(EARLIEST_JOINED - timedelta(seconds=1), NOW)
    with pytest.raises(PatronageError, match="is more than 1 day after now"):
        check_joined_at(NOW + JOINED_AHEAD + timedelta(seconds=1), NOW)
    check_joined_at(NOW + timedelta(days=400))  # without now: only the earliest bound


def test_birth_years_are_bounded_by_1900_and_the_current_year() -> None:
    check_birth_year(1900, NOW)
    check_birth_year(NOW.year, NOW)
    check_birth_year(None, NOW)
    with pytest.raises(PatronageError, match=r"^birth_year: 1899 is before 1900$"):
        check_birth_year(1899, NOW)
    with pytest.raises(PatronageError, match=r"^birth_year: 2027 is after the current year"):
        check_birth_year(2027, NOW)


def test_an_email_address_is_one_address_normalised() -> None:
    assert normalise_email(" Ann@Example.COM ") == "Ann@example.com"
    assert normalise_email(None) is None and normalise_email("  ") is None
    assert email_problem("ann@example.com") is None
    for bad in ("a@b.com\nBcc: c@d.com", "a@b.com, c@d.com", '"a"@b.com', "ann", "a@localhost"):
        assert email_problem(bad) is not None, bad
        with pytest.raises(PatronageError, match="is not a valid email address"):
            normalise_email(bad)
