"""The catalogs: every string of the code and templates translated into Spanish, none fuzzy or
left over; French started, falling back to English; the reader's language chosen and used."""

from __future__ import annotations

from datetime import date

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from jinja2 import Environment

from patronage.care.content import commercial_problems
from patronage.languages import (
    DEFAULT_LOCALE,
    _,
    current_locale,
    language_of,
    locale_for,
    ngettext,
    normalize,
    translations,
    use_locale,
)
from patronage.languages import jinja as language_jinja
from patronage.languages.catalogs import catalog_path
from patronage.languages.extract import extract
from patronage.languages.negotiate import negotiate, preferred


def _read(language: str) -> Catalog:
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language)


def _ids(catalog: Catalog) -> set[object]:
    return {m.id for m in catalog if m.id}


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return bool(strings) and all(bool(s) for s in strings)


def test_every_string_in_the_code_and_templates_is_translated_into_spanish() -> None:
    extracted = extract()
    spanish = _read("es")
    assert len(_ids(extracted)) > 300
    missing = sorted(str(i) for i in _ids(extracted) - _ids(spanish))
    assert not missing, f"not in the es catalog (run `make messages`): {missing[:10]}"
    untranslated = sorted(str(m.id) for m in spanish if m.id and not _translated(m))
    assert not untranslated, f"no Spanish translation: {untranslated[:10]}"
    fuzzy = sorted(str(m.id) for m in spanish if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy entries in the es catalog: {fuzzy[:10]}"
    assert not spanish.obsolete, "obsolete entries in the es catalog"
    stale = sorted(str(i) for i in _ids(spanish) - _ids(extracted))
    assert not stale, f"in the es catalog but no longer in the code: {stale[:10]}"


def test_translations_keep_every_placeholder_of_their_string() -> None:
    for language in ("es", "fr"):
        errors = [(m.id, [str(e) for e in errs]) for m, errs in _read(language).check()]
        assert not errors, f"{language}: {errors[:5]}"


def test_the_french_catalog_holds_only_current_strings() -> None:
    french = _read("fr")
    assert _ids(french) <= _ids(extract())
    assert not french.obsolete and not any(m.fuzzy for m in french if m.id)
    assert sum(1 for m in french if m.id and _translated(m)) >= 30


def test_spanish_care_messages_carry_no_commercial_content() -> None:
    spanish = _read("es")
    for message in spanish:
        if not message.id or not any("care/templates" in f for f, _ in message.locations):
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert not commercial_problems(f"es: {message.id}", text), text


def test_missing_strings_fall_back_to_english() -> None:
    with use_locale("fr-FR"):
        assert _("Happy birthday!") == "Joyeux anniversaire !"
        assert _("My autoship") == "My autoship"  # French is started, not complete
        assert _("a string no catalog has") == "a string no catalog has"
    with use_locale("de-DE"):  # no German catalog at all
        assert _("Happy birthday!") == "Happy birthday!"


def test_spanish_plurals_and_the_current_locale() -> None:
    assert current_locale() == DEFAULT_LOCALE
    with use_locale("es_mx") as locale:
        assert locale == current_locale() == "es-MX"
        one = ngettext("%(num)d year together!", "%(num)d years together!", 1)
        many = ngettext("%(num)d year together!", "%(num)d years together!", 3)
        assert (one % {"num": 1}, many % {"num": 3}) == ("¡1 año juntos!", "¡3 años juntos!")
        with use_locale("en-GB"):
            assert _("Happy birthday!") == "Happy birthday!"
        assert _("Happy birthday!") == "¡Feliz cumpleaños!"
    assert current_locale() == DEFAULT_LOCALE
    assert translations("es-AR").gettext("Today") == "Hoy"


def test_locales_are_normalized_and_chosen_for_a_country() -> None:
    assert normalize("es_mx") == "es-MX"
    assert normalize("ES-mx") == "es-MX"
    assert normalize("") == normalize(None) == normalize("klingon-XX") == DEFAULT_LOCALE
    assert language_of("fr-CA") == "fr"
    assert locale_for("es", "MX") == "es-MX"
    assert locale_for("es", "us") == "es-US"
    assert locale_for("es", "ZZ") == "es"
    assert locale_for("en", None) == "en-US"


def test_accept_language_is_negotiated_against_the_catalogs() -> None:
    assert preferred("en;q=0.5, es-MX, fr;q=0") == ["es-MX", "en"]
    assert negotiate("es-MX,es;q=0.9,en;q=0.8") == "es-MX"
    assert negotiate("de-DE, fr;q=0.3") == "fr"
    assert negotiate("de-DE, ja") == DEFAULT_LOCALE
    assert negotiate("") == negotiate(None) == DEFAULT_LOCALE
    assert negotiate("en-GB, es") == "en-GB"
    assert negotiate("es;q=abc, fr") == "fr"  # a bad weight counts as not wanted


def test_templates_translate_and_escape_what_they_show() -> None:
    env = language_jinja.install(Environment(autoescape=True))
    page = env.from_string(
        "{% trans name=who %}Hello {{ name }}{% endtrans %} · {{ _('Sign out') }} · "
        "{{ message|translate }} · {{ total|money }} · {{ day|date('long') }}")
    context = {"who": "<b>Ana</b>", "message": "Your details are saved.", "total": 123456,
               "currency": "MXN", "day": date(2026, 12, 10)}
    with use_locale("es-MX"):
        shown = page.render(context)
    assert shown == ("Hola, &lt;b&gt;Ana&lt;/b&gt; · Cerrar sesión · Tus datos están guardados."
                     " · 1,234.56 · 10 de diciembre de 2026")
    hostile = env.from_string("{{ message|translate }}").render(message="<script>x</script>")
    assert hostile == "&lt;script&gt;x&lt;/script&gt;"
