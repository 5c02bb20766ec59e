"""Extract the translatable text of the code and templates, and bring the catalogs up to date.

``python -m patronage.languages.extract`` (``make messages``) reads ``babel.cfg`` at the
repository root, extracts every marked string and merges it into each language's ``.po``:
new strings arrive with an empty translation, strings no longer in the code are removed. The
``.po`` files are the only form kept: they are compiled in memory when loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from patronage.languages.catalogs import LANGUAGES, catalog_path

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFIG = REPO_ROOT / "babel.cfg"
WIDTH = 100


def extract(root: Path = REPO_ROOT, config: Path = CONFIG) -> Catalog:
    """Every marked string under ``root``, with the places it is used."""
    with config.open(encoding="utf-8") as cfg:
        read: Any = parse_mapping_cfg  # Babel leaves it unannotated
        method_map, options_map = read(cfg, str(config))
    template = Catalog(project="Patronage", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def update(language: str, template: Catalog) -> tuple[int, int]:
    """Merge ``template`` into a language's catalog; (new strings, strings still untranslated)."""
    path = catalog_path(language)
    if path.is_file():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, project="Patronage", version="1",
                          copyright_holder="Patronage", fuzzy=False)
    before = {m.id for m in catalog if m.id}
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.creation_date = created  # the header changes only when a translator edits it
    catalog.obsolete.clear()
    with path.open("wb") as po:
        write_po(po, catalog, width=WIDTH, omit_header=False, sort_output=False,
                 ignore_obsolete=True, include_previous=False, include_lineno=False)
    added = sum(1 for m in catalog if m.id and m.id not in before)
    missing = sum(1 for m in catalog if m.id and not _translated(m.string))
    return added, missing


def _translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(bool(s) for s in string)
    return bool(string)


def main() -> int:
    template = extract()
    print(f"{len([m for m in template if m.id])} strings in the code and templates")
    for language in LANGUAGES:
        if language == "en":
            continue
        added, missing = update(language, template)
        print(f"{language}: {added} new, {missing} without a translation "
              f"({catalog_path(language).relative_to(REPO_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
