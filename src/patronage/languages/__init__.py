"""Languages: message catalogs, the choice of a reader's language, and locale formatting.

Text is written in English in the code and the templates and marked for translation
(``_()``/``ngettext`` in Python, ``{% trans %}``/``_()`` in templates, ``N_()`` for a string
translated later, where it is shown). The catalogs are gettext ``.po`` files under
``patronage/locale/<language>/LC_MESSAGES/messages.po``, compiled in memory when first used; a
string missing from a catalog falls back to English.

Whoever reads decides the language: a member's own locale for what they receive (emails, cards,
survey pages), the viewer's for pages. :func:`use_locale` sets it for a block of code; the
translation functions and :mod:`patronage.languages.formatting` read it from there.
"""

from patronage.languages.catalogs import (
    DEFAULT_LOCALE,
    LANGUAGES,
    N_,
    _,
    current_locale,
    gettext,
    language_of,
    locale_for,
    ngettext,
    normalize,
    translations,
    use_locale,
)

__all__ = ["DEFAULT_LOCALE", "LANGUAGES", "N_", "_", "current_locale", "gettext",
           "language_of", "locale_for", "ngettext", "normalize", "translations", "use_locale"]
