"""Twilio's request signature, checked against the example in Twilio's security documentation
(the same vector Twilio's own helper libraries test with)."""

from __future__ import annotations

from patronage.care.channels.sms import is_e164, twilio_signature, twilio_signature_valid

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
          "From": "+14158675309", "To": "+18005551212"}
DOCUMENTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_matches_twilios_documented_example() -> None:
    assert twilio_signature(URL, PARAMS, "12345") == DOCUMENTED
    assert twilio_signature_valid(URL, PARAMS, DOCUMENTED, "12345")


def test_any_change_breaks_the_signature() -> None:
    assert not twilio_signature_valid(URL, {**PARAMS, "Digits": "9999"}, DOCUMENTED, "12345")
    assert not twilio_signature_valid(URL + "&x=1", PARAMS, DOCUMENTED, "12345")
    assert not twilio_signature_valid(URL, PARAMS, DOCUMENTED, "54321")
    assert not twilio_signature_valid(URL, PARAMS, None, "12345")
    assert not twilio_signature_valid(URL, PARAMS, DOCUMENTED, "")  # no token: nothing valid


def test_e164() -> None:
    assert is_e164("+13125550142") and is_e164("+447911123456")
    assert not is_e164("3125550142") and not is_e164("+0123456789")
    assert not is_e164("+1 312 555 0142")
