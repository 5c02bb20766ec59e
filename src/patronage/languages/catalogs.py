"""The message catalogs, compiled in memory from their ``.po`` files, and the current locale."""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import localedata
from babel.core import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from patronage.errors import N_ as N_

#: Where the catalogs are: ``<language>/LC_MESSAGES/messages.po``.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
#: The locale of a reader who chose none (and the language the text is written in).
DEFAULT_LOCALE = "en-US"
#: The languages with a catalog, and their names in their own language (English is the source).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "fr": "Français"}

_current: ContextVar[str] = ContextVar("patronage_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=256)
def normalize(locale: str | None) -> str:
    """A locale such as ``es_mx`` or ``es-MX`` as ``es-MX``; anything unknown is the default.
    (Remembered: every number and message on a page asks, and the answer never changes.)"""
    if not locale:
        return DEFAULT_LOCALE
    try:
        parsed = Locale.parse(locale.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE
    return "-".join(p for p in (parsed.language, parsed.script, parsed.territory) if p)


def language_of(locale: str | None) -> str:
    """The language part of a locale (``es-MX`` -> ``es``)."""
    return normalize(locale).split("-", 1)[0]


def territory_of(locale: str | None) -> str | None:
    """The country part of a locale (``es-MX`` -> ``MX``), if it has one."""
    return babel_locale(locale).territory


def locale_for(language: str, country: str | None) -> str:
    """The locale for a language spoken in a country (``es`` in ``MX`` -> ``es-MX``), or the
    language alone when the pair is not a known locale (``es`` in ``CA`` -> ``es``)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: choose one of {', '.join(LANGUAGES)}")
    if country and localedata.exists(f"{language}_{country.upper()}"):
        return f"{language}-{country.upper()}"
    return "en-US" if language == "en" else language


def babel_locale(locale: str | None) -> Locale:
    """The :class:`babel.core.Locale` of a locale string (the default if unknown)."""
    return _babel_locale(normalize(locale))


@lru_cache(maxsize=256)
def _babel_locale(normalized: str) -> Locale:
    return Locale.parse(normalized.replace("-", "_"))


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _compiled(language: str) -> _gettext.NullTranslations:
    """The catalog of one language compiled in memory (fuzzy entries left out), or none."""
    path = catalog_path(language)
    if language == "en" or not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def translations(locale: str | None) -> _gettext.NullTranslations:
    """The translations for a locale: its language's catalog, falling back to English."""
    return _compiled(language_of(locale))


def current_locale() -> str:
    """The locale of whoever reads what is being made now."""
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Make text for a reader of ``locale`` inside the block; yields the normalized locale."""
    token = _current.set(normalize(locale))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current reader's language (English when not translated)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current reader's language."""
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


