"""The settings reference (docs/settings.md), generated from :class:`patronage.config.Settings`:
every ``PATRONAGE_*`` variable with its default and the meaning written above its field.

    python -m patronage.operations.settings_reference > docs/settings.md
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from pydantic import SecretStr

from patronage import config
from patronage.config import Settings

HEADER = """# Settings reference

Every setting is an environment variable, read by `patronage.config.Settings`. This page is
generated from it (`python -m patronage.operations.settings_reference > docs/settings.md`; a test
keeps the two equal). How to run with them: [Operations](operations.md).

| variable | default | meaning |
|---|---|---|
"""


def meanings() -> dict[str, str]:
    """Each field's meaning: the ``#:`` comment lines just above it in the class."""
    source = inspect.getsource(config)
    lines = source.splitlines()
    tree = ast.parse(source)
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    comment: list[str] = []
                    row = item.lineno - 2
                    while row >= 0 and lines[row].strip().startswith("#:"):
                        comment.insert(0, lines[row].strip()[2:].strip())
                        row -= 1
                    out[item.target.id] = " ".join(comment)
    return out


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def reference() -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    described = meanings()
    rows = []
    for name, field in Settings.model_fields.items():
        meaning = (described.get(name) or "(no description)").replace("|", "\\|")
        rows.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {meaning} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
