"""The rules file: the shipped defaults, and every mistake named at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from patronage.care.core.holidays import easter, parse_holiday
from patronage.care.core.occasions import OCCASIONS
from patronage.care.core.rules import load_rules, parse_rules
from patronage.errors import Problems

TEMPLATES = {"birthday", "anniversary", "holiday", "first_order_thanks", "order_thanks",
             "referral_thanks", "testimonial_thanks", "survey_thanks", "nice_to_meet_you",
             "check_in", "payment_help", "payment_failed_owner", "cancelled_followup",
             "value_at_risk_owner", "survey_invite"}


def test_shipped_rules_cover_every_occasion_with_the_known_templates() -> None:
    rules = load_rules()
    assert {r.occasion for r in rules.rules} == set(OCCASIONS)
    assert {r.template for r in rules.rules} == TEMPLATES
    assert {r.channel for r in rules.rules} == {"email", "card", "task"}
    assert rules.settings.caps.email.max == 1 and rules.settings.caps.email.days == 7


def test_every_problem_is_reported_at_once_with_file_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("""
[settings]
quiet_hours = ["21:00", "8am"]
holdout_share = 0.9
[settings.caps]
email = { max = -1, days = 7 }
[holidays]
xmas = "12-32"
[[rules]]
key = "a"
occasion = "birthdy"
channel = "email"
template = "birthday"
[[rules]]
key = "b"
occasion = "order"
channel = "pigeon"
template = "order_thanks"
delay_days = -2
""")
    with pytest.raises(Problems) as caught:
        load_rules(path)
    text = str(caught.value)
    for expected in (
        f"{path}: settings.quiet_hours[1]: '8am' is not a time of day",
        f"{path}: settings.holdout_share:",
        f"{path}: settings.caps.email.max:",
        f"{path}: holidays: xmas: '12-32': december has no day 32",
        f"{path}: rules[0].occasion: unknown occasion 'birthdy'",
        f"{path}: rules[1].channel: unknown channel 'pigeon'",
        f"{path}: rules[1].delay_days:",
    ):
        assert expected in text, expected
    assert len(caught.value.problems) == 7


def test_options_that_do_not_fit_the_occasion_are_refused() -> None:
    base = {"channel": "email", "template": "x"}
    with pytest.raises(Problems) as caught:
        parse_rules({"settings": {"send_time": "22:00"}, "rules": [
            {"key": "a", "occasion": "order", "lead_days": 2, **base},
            {"key": "a", "occasion": "no_touch", **base},
            {"key": "c", "occasion": "holiday", "holidays": ["easter"], **base},
            {"key": "d", "occasion": "value_at_risk", **base},
            {"key": "e", "occasion": "birthday", "every": 2, **base},
        ]}, "f.toml")
    places = [p.place for p in caught.value.problems]
    assert places == ["f.toml: settings.send_time", "f.toml: rules[0].lead_days",
                      "f.toml: rules[1].key", "f.toml: rules[1].days",
                      "f.toml: rules[2].holidays[0]", "f.toml: rules[2].occasion",
                      "f.toml: rules[3].min_value", "f.toml: rules[4].every"]


def test_missing_and_broken_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(Problems, match="no such rules file"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]\n")
    with pytest.raises(Problems, match="not valid TOML"):
        load_rules(bad)


def test_holiday_rules_fixed_nth_weekday_last_and_easter() -> None:
    assert parse_holiday("12-25").on(2026) == date(2026, 12, 25)
    assert parse_holiday("4th Thursday of November").on(2026) == date(2026, 11, 26)
    assert parse_holiday("2nd sunday of may").on(2027) == date(2027, 5, 9)
    assert parse_holiday("last monday of may").on(2026) == date(2026, 5, 25)
    assert parse_holiday("02-29").on(2027) is None
    assert parse_holiday("5th friday of february").on(2026) is None
    assert [easter(y) for y in (2024, 2025, 2026, 2038)] == [
        date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2038, 4, 25)]
    assert parse_holiday("easter-2").on(2026) == date(2026, 4, 3)
    with pytest.raises(ValueError, match="not a holiday date"):
        parse_holiday("next tuesday")
    with pytest.raises(ValueError, match="'funday' is not a weekday"):
        parse_holiday("1st funday of may")
