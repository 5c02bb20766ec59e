"""Where the public reference data lives: ../shared/data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def cdnow() -> Path:
    for candidate in (ROOT.parent / "shared" / "data" / "cdnow",
                      Path("/work/shared/data/cdnow")):
        if (candidate / "cdnow_customers_summary.csv").is_file():
            return candidate
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true and the CDNOW reference data is not beside the repository")
    pytest.skip("the CDNOW reference data (../shared/data/cdnow) is not here")
