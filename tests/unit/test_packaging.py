"""The container image runs as an unprivileged user with the package installed; the compose
file starts PostgreSQL, the migrations, then the web server and the worker, in that order."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_is_slim_and_not_root() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert all("-slim" in line for line in froms)
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("USER root", "USER 0")
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
