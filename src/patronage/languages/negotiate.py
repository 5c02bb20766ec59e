"""The language of an anonymous reader, from the ``Accept-Language`` their browser sends."""

from __future__ import annotations

from babel.core import negotiate_locale

from patronage.languages.catalogs import DEFAULT_LOCALE, LANGUAGES, language_of, normalize

#: At most this many ranges of a header are considered (the rest are ignored).
MAX_RANGES = 20


def preferred(accept_language: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most wanted first (``q=0`` out)."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranges)]


def negotiate(accept_language: str | None) -> str:
    """The best locale we have a catalog for (``es-MX`` keeps its region for formatting);
    the default when nothing the browser asks for is available."""
    wanted = preferred(accept_language)
    language = negotiate_locale([t.replace("-", "_") for t in wanted], list(LANGUAGES),
                                sep="_")
    if language is None:
        return DEFAULT_LOCALE
    for tag in wanted:
        locale = normalize(tag)
        if language_of(locale) == language:
            return locale
    return normalize(language)
