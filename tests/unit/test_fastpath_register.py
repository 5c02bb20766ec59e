"""Every trick of the fast path is in its register, with its documentation page."""

from __future__ import annotations

import importlib
from pathlib import Path

from patronage.fastpath import REGISTER

PAGE = Path(__file__).resolve().parents[2] / "docs" / "fastpath.md"


def test_every_module_of_the_package_is_a_registered_trick() -> None:
    package = Path(importlib.import_module("patronage.fastpath").__file__ or "").parent
    modules = {f"patronage.fastpath.{p.stem}" for p in package.glob("*.py")
               if p.stem != "__init__"}
    assert {t.module for t in REGISTER} == modules
    for trick in REGISTER:
        importlib.import_module(trick.module)
        assert trick.gain and trick.cost and trick.used_by


def test_the_documentation_page_names_every_trick_and_its_module() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for trick in REGISTER:
        assert f"| {trick.name} |" in page
        assert trick.module.replace("patronage.", "").replace(".", "/") + ".py" in page
