"""Signed links: one purpose each, checked against the time given, refused when altered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patronage.care.links import InvalidLink, make_link, make_token, read_token
from patronage.errors import PatronageError

NOW = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)


def test_a_token_names_the_member_and_touch_and_when_it_was_issued() -> None:
    token = make_token("preferences", 42, NOW, touch_id=7, secret="s")
    link = read_token(token, "preferences", NOW + timedelta(days=399), secret="s")
    assert (link.member_id, link.touch_id, link.issued_at) == (42, 7, NOW)


def test_each_purpose_has_its_own_signature_and_lifetime() -> None:
    survey = make_token("survey", 42, NOW, secret="s")
    with pytest.raises(InvalidLink, match="this unsubscribe link is not valid"):
        read_token(survey, "unsubscribe", NOW, secret="s")
    with pytest.raises(InvalidLink, match="this survey link expired on 2026-11-19"):
        read_token(survey, "survey", NOW + timedelta(days=31), secret="s")
    with pytest.raises(InvalidLink, match="not valid"):
        read_token(survey, "survey", NOW, secret="another secret")
    with pytest.raises(PatronageError, match="'coupon' is not one of"):
        make_token("coupon", 42, NOW, secret="s")


def test_links_live_under_the_base_url() -> None:
    url = make_link("unsubscribe", 42, NOW, base_url="https://care.example/", secret="s")
    assert url.startswith("https://care.example/u/")
    token = url.rsplit("/", 1)[1]
    assert read_token(token, "unsubscribe", NOW, secret="s").member_id == 42


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(PatronageError, match=r"now: 2026-01-01T00:00:00 has no time zone"):
        make_token("survey", 1, datetime(2026, 1, 1), secret="s")
