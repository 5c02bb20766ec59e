"""Where the public reference data lives: tests/fixtures/cdnow in this repository."""

from __future__ import annotations

from pathlib import Path

import pytest

CDNOW = Path(__file__).resolve().parents[2] / "fixtures" / "cdnow"


@pytest.fixture(scope="session")
def cdnow() -> Path:
    """The CDNOW sample and its published summaries (see tests/fixtures/README.md)."""
    return CDNOW
