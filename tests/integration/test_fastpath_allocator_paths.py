"""The allocator is tuned by the batch commands only: a period previewed and committed through
the server never calls ``mallopt``, the same through ``patronage commissions`` does (and resets
it when the command ends). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.clock import FixedClock
from patronage.fastpath import allocator
from tests.integration.test_api_support import API, acting_as, app_for, company

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("trim", pad))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """A recording C library, and every caller taken for a single-threaded process's main
    thread: the worst case, where only the call sites keep the server away from ``mallopt``."""
    recorder = _Recorder()
    monkeypatch.setattr(allocator, "_LIBC", recorder)
    monkeypatch.setattr(allocator, "single_threaded", lambda: True)
    return recorder


def test_the_server_previews_and_commits_a_period_without_touching_the_allocator(
        engine: Engine, libc: _Recorder) -> None:
    c = company(engine)
    client = acting_as(app_for(engine, FixedClock(NOW)), c.staff())
    assert client.get(f"{API}/commissions/2026-10/preview").status_code == 200
    done = client.post(f"{API}/commissions/2026-10/commit")
    assert done.status_code == 200, done.text
    assert libc.calls == []


def test_the_commit_command_tunes_the_allocator_and_resets_it_when_it_ends(
        engine: Engine, db_url: str, libc: _Recorder) -> None:
    company(engine)
    result = CliRunner().invoke(cli, ["--db", db_url, "commissions", "commit", "--period",
                                      "2026-10", "--now", NOW.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    assert '"reproduces": true' in result.output
    assert libc.calls == [
        ("mallopt", allocator.M_MMAP_MAX), ("mallopt", allocator.M_TRIM_THRESHOLD),
        ("mallopt", allocator.M_MMAP_MAX), ("mallopt", allocator.M_TRIM_THRESHOLD),
        ("trim", 0)]
