"""Services never read the settings: the composition roots (the commands, the pages, the API and
the server) read them and pass the values in. The one exception is the suppression secret (a
key, read where the hashes are made)."""

from __future__ import annotations

import ast
from pathlib import Path

import patronage

PACKAGE = Path(patronage.__file__).parent
#: The composition roots, which may read the settings.
ROOTS = ("cli", "web", "api", "server.py", "config.py")
#: Modules outside the roots that may read the settings, with how many times.
ALLOWED = {"network/members.py": 1}


def _settings_reads(path: Path) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    reads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(
                f, ast.Attribute) else None
            reads += name == "get_settings"
    return reads


def _service_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if p.relative_to(PACKAGE).parts[0] not in ROOTS)


def test_no_service_reads_the_settings() -> None:
    found = {str(p.relative_to(PACKAGE)): n for p in _service_modules()
             if (n := _settings_reads(p))}
    assert found == ALLOWED, (
        "services take settings values as parameters (or read them from the database); only "
        f"the composition roots call get_settings(); found: {found}")


def test_the_check_sees_a_read(tmp_path: Path) -> None:
    module = tmp_path / "service.py"
    module.write_text("from patronage import config\n\n"
                      "def f():\n    return config.get_settings().market\n", encoding="utf-8")
    assert _settings_reads(module) == 1
    assert len(_service_modules()) > 50
