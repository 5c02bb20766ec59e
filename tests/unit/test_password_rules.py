"""Password rules: long enough, not too long, and not easy to guess (zxcvbn score 3 or more)."""

from __future__ import annotations

import pytest

from patronage.errors import PatronageError
from patronage.web.accounts import MAX_PASSWORD, check_password


@pytest.mark.parametrize(("password", "reason"), [
    ("12345678", "common password"),
    ("password", "common password"),
    ("        ", "Repeats"),
    ("short", "at least 8 characters"),
    ("x" * (MAX_PASSWORD + 1), f"at most {MAX_PASSWORD} characters"),
    ("qwertyuiop", "password: too easy to guess"),
])
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    with pytest.raises(PatronageError, match=r"^password: ") as refused:
        check_password(password)
    assert reason in refused.value.message


def test_a_password_made_of_the_email_is_refused() -> None:
    with pytest.raises(PatronageError, match="too easy to guess"):
        check_password("dana.fairweather2026", email="Dana.Fairweather@example.com")
    check_password("dana.fairweather2026")  # strong enough for someone else


@pytest.mark.parametrize("password", ["correct horse battery", "plum kettle orbit seventeen",
                                      "Tq7#mZp2!vL9", "ü" * 3 + "rare-ballad-of-kites"])
def test_strong_passwords_are_accepted(password: str) -> None:
    check_password(password)


def test_the_longest_password_allowed_is_checked_quickly() -> None:
    check_password("s7Gk!" * (MAX_PASSWORD // 5) + "abc")
