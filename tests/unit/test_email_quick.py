"""The quick path for plain email addresses gives what the library gives, or steps aside."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from patronage.network.intake import normalise_email

SAMPLES = [
    "a@example.com", "A.B@Example.COM", "x..y@a.com", ".x@a.com", "x.@a.com", "a@localhost",
    "a@x.test", "a@b", "a@1.2.3.4", "a@[1.2.3.4]", "a@xn--bcher-kva.example", "a@b--c.com",
    "a@-b.com", "a@b-.com", "a" * 64 + "@x.com", "a" * 65 + "@x.com", "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com", "a@" + ("b" * 60 + ".") * 4 + "com", "a@x.invalid", "a@x.local",
    "a@x.onion", "a@com", "a@x.c0m", "a@x.123", "José@x.com", "a@bücher.de", "a@BÜCHER.de",
    '"evil"@x.com, other@victim.example', "a b@x.com", "a@x.com\r\nBcc: b@y.com", "a@x..com",
    "a@.x.com", "a@x.com.", "a+tag@sub.domain.co.uk", "{}|~@x.io", "a@x_y.com", "a@@x.com",
    "@x.com", "a@", "a@x.com,b@y.com",
]


@pytest.mark.parametrize("address", SAMPLES)
def test_quick_and_library_agree(address: str) -> None:
    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    if expected is None:
        with pytest.raises(Exception, match="is not a valid email address"):
            normalise_email(address)
    else:
        assert normalise_email(address) == expected
