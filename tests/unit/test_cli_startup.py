"""The ``patronage`` command starts without the heavy libraries: ``--help`` (of the command, of
every group and of every sub-command) and ``--version`` import none of the database, web,
numerical or PDF libraries, which each command imports only when it runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

HEAVY = ("scipy", "numpy", "fastapi", "sqlalchemy", "fpdf", "starlette", "alembic", "psycopg",
         "rich")
SRC = str(Path(__file__).resolve().parents[2] / "src")

# Runs in a fresh interpreter: asks for every help there is, then lists what was imported.
PROBE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, SRC)
    from patronage.cli.main import main

    def run(args):
        sys.argv = ["patronage", *args]
        try:
            main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"patronage {' '.join(args)} exited with {exc.code}")

    import typer.main
    root = typer.main.get_command(__import__("patronage.cli.main", fromlist=["app"]).app)
    paths = []
    def walk(command, path):
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
    walk(root, [])
    run(["--version"])
    for path in paths:
        run([*path, "--help"])
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
    print(json.dumps({"helps": len(paths), "heavy": heavy}))
""")


def test_help_and_version_import_no_heavy_library() -> None:
    code = f"SRC = {SRC!r}\nHEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["helps"] > 50  # every group and every command was asked for its help
    assert result["heavy"] == []


def test_defaults_written_in_the_cli_match_the_services() -> None:
    from patronage.api.tokens import DEFAULT_LIFETIME
    from patronage.cli import api, check
    from patronage.integrity import EXAMPLES

    assert check.EXAMPLES == EXAMPLES
    assert timedelta(days=api.DEFAULT_DAYS) == DEFAULT_LIFETIME


def test_version_prints_the_package_version() -> None:
    from typer.testing import CliRunner

    from patronage import __version__
    from patronage.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"patronage {__version__}"
