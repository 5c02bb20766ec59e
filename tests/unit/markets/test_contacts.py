"""Phone numbers read in the member's country and stored in E.164, shown for the viewer;
regions and postal codes checked per country."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.demo.company import ZONE_CONTACTS, demo_phone, demo_postal
from patronage.demo.core.synth import ZONES
from patronage.errors import PatronageError
from patronage.markets.core.contacts import (
    _e164_valid,
    check_address,
    display_phone,
    normalise_phone,
    phone_problem,
    phone_uri,
)


@pytest.mark.parametrize(("written", "country", "stored"), [
    ("(212) 555-0123", "US", "+12125550123"),
    ("212.555.0123", "US", "+12125550123"),
    ("+1 416 555 0123", "US", "+14165550123"),  # a Canadian number written in full
    ("416-555-0123", "CA", "+14165550123"),
    ("55 5555 1234", "MX", "+525555551234"),
    ("020 7946 0123", "GB", "+442079460123"),
    ("03-1234-5678", "JP", "+81312345678"),
    ("+525555551234", None, "+525555551234"),
])
def test_a_number_is_read_in_the_country_and_stored_in_e164(
        written: str, country: str | None, stored: str) -> None:
    assert normalise_phone(written, country) == stored


def test_an_invalid_number_is_refused_with_its_place_and_reason() -> None:
    with pytest.raises(PatronageError, match=r"^phone: '\+15550000001' is not a valid phone "
                                             r"number in US"):
        normalise_phone("+15550000001", "US")
    with pytest.raises(PatronageError, match=r"^mobile: 'call me' is not a phone number in MX"):
        normalise_phone("call me", "MX", place="mobile")
    with pytest.raises(PatronageError, match="with its country code"):
        normalise_phone("555 0123", None)
    assert normalise_phone("  ", "US") is None
    assert normalise_phone(None, "US") is None


def _random_e164(rng: random.Random) -> str:
    code = rng.choice([1, 7, 33, 39, 44, 49, 52, 55, 61, 81, 86, 91, 262, 290, 358, 599, 800,
                       882, 1242, 1876])
    return f"+{code}" + "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 12)))


def test_the_e164_fast_path_agrees_with_the_library() -> None:
    """Precompiled patterns say "valid" exactly when the library parses the text to a valid
    number with the same E.164 (anything else goes to the library itself)."""
    rng = random.Random(17)
    agreed = valid = 0
    for _ in range(20_000):
        text = _random_e164(rng)
        if not re.fullmatch(r"\+[1-9]\d{6,14}", text):
            continue
        quick = _e164_valid(text)
        if quick is None:
            continue
        try:
            number = phonenumbers.parse(text, None)
            library = (phonenumbers.is_valid_number(number) and phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164) == text)
        except phonenumbers.NumberParseException:
            library = False
        assert quick == library, text
        agreed += 1
        valid += quick
    assert agreed > 15_000 and valid > 1_000


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["US", "CA", "GB", "MX", "JP"]), st.integers(0, 10**10))
def test_an_example_number_of_each_market_country_stays_itself(country: str, seed: int) -> None:
    example = phonenumbers.example_number(country)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert phone_problem(e164, country) == (e164, None)
    assert normalise_phone(national, country) == e164
    assert phone_problem(e164, None if seed % 2 else "JP")[0] == e164


def test_a_number_is_shown_national_to_its_country_international_to_others() -> None:
    assert display_phone("+525555551234", "MX") == "55 5555 1234"
    assert display_phone("+525555551234", "US") == "+52 55 5555 1234"
    assert display_phone("+12125550123", "US") == "(212) 555-0123"
    assert display_phone("+12125550123", "CA") == "+1 212-555-0123"
    assert display_phone("+12125550123", None) == "+1 212-555-0123"
    assert display_phone("+1 555 0100", "US") == "+1 555 0100"  # stored before checks: as is


def test_links_carry_e164_and_nothing_else() -> None:
    assert phone_uri("+525555551234") == "tel:+525555551234"
    assert phone_uri("+525555551234", "sms") == "sms:+525555551234"
    assert phone_uri("555 0100") is None
    with pytest.raises(PatronageError, match="scheme"):
        phone_uri("+525555551234", "http")


def test_regions_are_subdivisions_of_the_country_by_code_or_name() -> None:
    assert check_address("US", "Illinois", "60601-1234") == ("IL", "60601-1234")
    assert check_address("US", "us-il", None) == ("IL", None)
    assert check_address("CA", "on", "m5v  2t6") == ("ON", "M5V 2T6")
    assert check_address("MX", "CMX", "06600") == ("CMX", "06600")
    assert check_address("GB", "LND", "sw1a 1aa") == ("LND", "SW1A 1AA")
    assert check_address("JP", "13", "154-0023") == ("13", "154-0023")
    assert check_address(None, "anything", "anything") == ("anything", "anything")
    assert check_address("HK", "Kowloon", "any") == ("Kowloon", "any")  # neither in HK


def test_a_wrong_region_or_postal_code_is_refused_naming_both() -> None:
    with pytest.raises(PatronageError) as caught:
        check_address("CA", "IL", "60601")
    message = str(caught.value)
    assert "region: 'IL' is not a subdivision of CA in ISO 3166-2" in message
    assert "postal_code: '60601' is not a postal code of CA (like H3Z 2Y7" in message
    with pytest.raises(PatronageError, match="postal_code: '1540023X' is not a postal code of"):
        check_address("JP", None, "1540023X")


def test_the_demo_writes_valid_numbers_and_postal_codes_in_every_zone() -> None:
    for zone_index, (_, country, _) in enumerate(ZONES):
        assert ZONE_CONTACTS[zone_index][0]
        for i in (1, 9_999, 123_456, 7_654_321):
            phone = demo_phone(zone_index, i)
            assert phone_problem(phone, country) == (phone, None), phone
            region, postal = check_address(country, ZONE_CONTACTS[zone_index][0],
                                           demo_postal(zone_index, i))
            assert region == ZONE_CONTACTS[zone_index][0] and postal
