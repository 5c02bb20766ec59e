"""The documentation: the API page lists every operation of the app, and the repository's own
Markdown (README, CONTRIBUTING, test fixtures) links only to files that exist. Links inside docs/
are checked by ``make docs`` (MkDocs --strict)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tools import mkdocs_hooks as hooks

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|<img src=\"([^\"]+)\"")


def test_the_api_page_lists_every_operation_and_every_schema_it_links() -> None:
    doc = hooks.openapi_document()
    page = hooks.operations_page(doc)
    operations = [(method, path) for path, item in doc["paths"].items()
                  for method in ("get", "post", "put", "patch", "delete") if method in item]
    assert len(operations) > 40
    for method, path in operations:
        assert f"### `{method.upper()} {path}`" in page
    anchors = set(re.findall(r"\{ #(schema-[a-z0-9-]+) \}", page))
    linked = set(re.findall(r"\]\(#(schema-[a-z0-9-]+)\)", page))
    assert linked and linked <= anchors
    assert "Idempotency-Key".lower() in page.lower()


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md", "tests/fixtures/README.md"])
def test_repository_markdown_links_to_files_that_exist(name: str) -> None:
    path = ROOT / name
    targets = [a or b for a, b in LINK.findall(path.read_text(encoding="utf-8"))]
    local = [t for t in targets if not t.startswith(("http://", "https://", "mailto:"))]
    missing = [t for t in local if not (path.parent / t).exists()]
    assert not missing, f"{name} links to missing files: {missing}"


def test_the_readme_stays_short_and_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 120
    assert "make demo" in text and "make test" in text


def test_the_cdnow_reference_data_is_in_the_repository() -> None:
    folder = ROOT / "tests" / "fixtures" / "cdnow"
    for name in ("CDNOW_sample.txt", "cdnow_customers_summary.csv",
                 "cdnow_customers_summary_with_transactions.csv"):
        assert (folder / name).stat().st_size > 10_000, name
