"""Strings built in code (sign-in limits, chart labels, the seven values' names) are shown in
Spanish to a Spanish reader, their placeholders kept; an English leftover fails here."""

from __future__ import annotations

import re

import pytest

from patronage.languages import gettext, use_locale
from patronage.web.accounts import GUESSED_AT, TOO_MANY_FOR_EMAIL, TOO_MANY_FROM_ADDRESS
from patronage.web.words import SEVEN

CODE_STRINGS = [TOO_MANY_FOR_EMAIL, TOO_MANY_FROM_ADDRESS, GUESSED_AT, *SEVEN, "PV", "GV",
                "Seven values of %(name)s", "Seven values", "Text"]


@pytest.mark.parametrize("message", CODE_STRINGS)
def test_each_string_built_in_code_has_its_spanish(message: str) -> None:
    with use_locale("es-MX"):
        spanish = gettext(message)
    assert spanish != message, f"untranslated: {message!r}"
    assert sorted(re.findall(r"%\(\w+\)s", spanish)) == sorted(re.findall(r"%\(\w+\)s", message))


def test_a_sign_in_limit_reads_in_spanish() -> None:
    with use_locale("es-MX"):
        text = gettext(TOO_MANY_FOR_EMAIL) % {"email": "ana@example.com", "minutes": 15}
    assert text.startswith("Demasiados intentos fallidos") and "15 minutos" in text
