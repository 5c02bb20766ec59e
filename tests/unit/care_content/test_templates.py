"""Templates: every shipped one loads and renders; commercial content is refused at load time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from patronage.care.content import (
    TemplateRefused,
    TemplateSet,
    commercial_problems,
    default_templates,
    months_between,
)
from patronage.errors import PatronageError

PLANNER_NAMES = (
    "birthday", "anniversary", "holiday", "first_order_thanks", "order_thanks", "referral_thanks",
    "testimonial_thanks", "survey_thanks", "nice_to_meet_you", "check_in", "payment_help",
    "payment_failed_owner", "cancelled_followup", "value_at_risk_owner", "survey_invite",
)


def context(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "member": {"first_name": "Sally", "last_name": "Smith", "name": "Sally Smith"},
        "owner": {"first_name": "Dana", "last_name": "Owens", "name": "Dana Owens"},
        "signer": "Dana", "company": {"name": "Acme Wellness"}, "months_on_autoship": 26,
        "referred": ["Sam", "Ann"], "referred_names": "Sam and Ann", "referral": None,
        "order": None,
        "occasion": "birthday", "occasion_key": "2026", "summary": "", "years_with_us": 2,
        "links": {k: f"https://care.example/{k[0]}/TOKEN" for k in
                  ("preferences", "unsubscribe", "survey", "testimonial")},
    }
    base.update(over)
    return base


def test_every_rule_of_the_shipped_rules_has_its_template() -> None:
    from patronage.care.core.rules import load_rules

    rules = load_rules(None).active
    assert rules
    missing = [(r.key, f"{r.template}.{r.channel}.j2") for r in rules
               if r.channel != "sms" and not default_templates().exists(r.template, r.channel)]
    assert missing == []


def test_every_planner_template_name_has_at_least_one_channel() -> None:
    tset = default_templates()
    for name in PLANNER_NAMES:
        assert any(tset.exists(name, ch) for ch in ("email", "card", "task")), name
    assert tset.exists("birthday", "task") and tset.exists("payment_failed_owner", "task")
    assert tset.check_all() == []


@pytest.mark.parametrize("filename", default_templates().names())
def test_every_shipped_template_renders_with_and_without_optional_data(filename: str) -> None:
    name, channel, _ = filename.split(".")
    tset = default_templates()
    for ctx in (context(), context(owner=None, months_on_autoship=None, referred=[],
                                   referred_names="", years_with_us=0)):
        rendered = getattr(tset, channel)(name, ctx)
        if channel == "email":
            assert rendered.subject and "\n" not in rendered.subject
            assert "https://care.example/p/TOKEN" in rendered.text
        elif channel == "card":
            assert "Sally" in rendered.inside and rendered.front
        elif channel == "sms":
            assert rendered.startswith(("Happy birthday, Sally!", "Hi Sally,", "Thank you"))
            assert "\n" not in rendered and len(rendered) <= 306
            assert rendered.endswith("Reply STOP to stop these texts.")
        else:
            assert "Sally Smith" in rendered and "\n" not in rendered


def test_personalisation_reaches_the_text() -> None:
    tset = default_templates()
    assert tset.task("birthday", context()) == (
        "Call Sally Smith today: birthday; 26 months on autoship; referred Sam and Ann")
    card = tset.card("referral_thanks", context())
    assert "introducing Sam and Ann." in card.inside and card.inside.endswith("Dana")
    card = tset.card("referral_thanks", context(referral="Ann"))
    assert "introducing Ann.\n" in card.inside
    order = {"id": 7, "placed_on": "2026-10-01", "products": ["Daily shake"],
             "product_names": "Daily shake", "autoship": False}
    email = tset.email("first_order_thanks", context(order=order))
    assert "first order (Daily shake)" in email.text


@pytest.mark.parametrize(("line", "label", "offending"), [
    ("Enjoy $10 on us", "a currency amount", "$1"),
    ("Only 25 USD this week", "a currency amount", "25 USD"),
    ("Take 20% off your next box", "a percentage off", "0%"),
    ("Use code THANKYOU at checkout", "a discount or promo code", "Use code"),
    ("Here is a coupon for you", "a discount or promo code", "coupon"),
    ("Shop now and treat yourself", "a call to buy", "Shop now"),
    ("See https://shop.example/deals", "a web address", "https://shop.example/deals"),
    ("Visit acme-wellness.com/store", "a web address", "acme-wellness.com/store"),
    ("The new price list is out", "a price", "price"),
])
def test_commercial_content_is_found_with_its_line_and_text(line: str, label: str,
                                                            offending: str) -> None:
    source = "{% block subject %}Thank you{% endblock %}\n" + line + "\n"
    problems = commercial_problems("x.email.j2", source)
    assert len(problems) == 1
    assert problems[0].place == "x.email.j2, line 2"
    assert label in problems[0].reason and repr(offending) in problems[0].reason


def test_kind_words_are_not_mistaken_for_commerce() -> None:
    text = ("Thank you for your order today, Sally. It is priceless to have you with us.\n"
            "{{ links.preferences }} {{ company.name }} {{ order.product_names }}\n")
    assert commercial_problems("ok.email.j2", text) == []


def _write(tmp_path: Path, name: str, text: str) -> TemplateSet:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return TemplateSet(tmp_path)


def test_a_commercial_template_is_refused_when_loaded(tmp_path: Path) -> None:
    tset = _write(tmp_path, "pitch.email.j2",
                  "{% block subject %}Happy birthday{% endblock %}\n"
                  "{% block text %}Dear {{ member.first_name }},\n"
                  "celebrate with 15% off: www.acme.example/shop\n{% endblock %}\n")
    with pytest.raises(TemplateRefused) as caught:
        tset.email("pitch", context())
    message = str(caught.value)
    assert "pitch.email.j2, line 3" in message and "'5%'" in message
    assert "a thank-you has no other agenda" in message


def test_unknown_variables_and_missing_blocks_are_refused(tmp_path: Path) -> None:
    tset = _write(tmp_path, "odd.email.j2", "{% block subject %}Hi{% endblock %}{{ shop_url }}")
    with pytest.raises(TemplateRefused) as caught:
        tset.email("odd", context())
    assert "unknown variable 'shop_url'" in str(caught.value)
    assert "missing block 'text'" in str(caught.value)


def test_the_sandbox_blocks_unsafe_attribute_access(tmp_path: Path) -> None:
    tset = _write(tmp_path, "evil.task.j2", "{{ member.__class__.__mro__ }}")
    with pytest.raises(PatronageError,
                       match=r"evil\.task\.j2: SecurityError: access to attribute '__class__'"):
        tset.task("evil", context(member=object()))


def test_undefined_values_are_errors_not_blanks(tmp_path: Path) -> None:
    tset = _write(tmp_path, "gap.task.j2", "Call {{ member.nickname }}")
    with pytest.raises(PatronageError, match=r"gap\.task\.j2: UndefinedError"):
        tset.task("gap", context())


def test_html_block_is_escaped_and_text_is_not(tmp_path: Path) -> None:
    tset = _write(tmp_path, "h.email.j2",
                  "{% block subject %}Hi {{ member.first_name }}{% endblock %}"
                  "{% block text %}Dear {{ member.first_name }}{% endblock %}"
                  "{% block html %}<p>Dear {{ member.first_name }}</p>{% endblock %}")
    email = tset.email("h", context(member={"first_name": "Ann <b>", "last_name": "",
                                            "name": "Ann"}))
    assert email.text.startswith("Dear Ann <b>")
    assert email.html == "<p>Dear Ann &lt;b&gt;</p>"


def test_months_between_counts_whole_months() -> None:
    start = datetime(2024, 8, 20, 9, tzinfo=UTC)
    assert months_between(start, datetime(2026, 10, 20, 9, tzinfo=UTC)) == 26
    assert months_between(start, datetime(2026, 10, 20, 8, tzinfo=UTC)) == 25
    assert months_between(start, datetime(2024, 1, 1, tzinfo=UTC)) == 0


def test_a_text_must_be_short_and_say_how_to_stop(tmp_path: Path) -> None:
    (tmp_path / "long.sms.j2").write_text("Dear {{ member.first_name }}, " + "thank you! " * 30
                                          + "Reply STOP to stop.")
    (tmp_path / "nostop.sms.j2").write_text("Hi {{ member.first_name }}, thank you!")
    (tmp_path / "ok.sms.j2").write_text("Hi {{ member.first_name }},\nthank you!\n"
                                        "Reply STOP to stop.")
    tset = TemplateSet(tmp_path)
    with pytest.raises(PatronageError, match=r"long.sms.j2: the text has 3\d\d characters; "
                       "at most 306"):
        tset.sms("long", context())
    with pytest.raises(PatronageError, match=r"nostop\.sms\.j2: the text does not say how to stop"):
        tset.sms("nostop", context())
    assert tset.sms("ok", context()) == "Hi Sally, thank you! Reply STOP to stop."
