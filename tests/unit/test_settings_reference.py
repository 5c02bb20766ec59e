"""The settings reference (docs/settings.md) is generated from the settings and lists every one
with its default and meaning."""

from __future__ import annotations

from pathlib import Path

from patronage.config import Settings
from patronage.operations.settings_reference import meanings, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_doc_is_the_generated_reference() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), (
        "docs/settings.md is stale: python -m patronage.operations.settings_reference "
        "> docs/settings.md")


def test_every_setting_is_listed_with_a_meaning() -> None:
    text = DOC.read_text(encoding="utf-8")
    described = meanings()
    for name in Settings.model_fields:
        assert f"| `PATRONAGE_{name.upper()}` |" in text
        assert described.get(name), f"{name}: write a #: comment above the field"
    assert "`PATRONAGE_READ_DATABASE_URL` | empty |" in text
    assert "`PATRONAGE_DB_POOL_SIZE` | `5` |" in text
