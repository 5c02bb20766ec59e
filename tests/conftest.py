"""Shared fixtures. ``engine`` runs a storage test twice: on a SQLite file and on PostgreSQL.

PostgreSQL comes from ``PATRONAGE_TEST_POSTGRES_URL`` (default: the local server at
127.0.0.1:5432, user postgres, database test). Each test session makes its own database there and
drops it at the end, so parallel runs never share rows. Without a reachable server the PostgreSQL
half is skipped with the reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from patronage.clock import FixedClock
from patronage.config import Settings
from patronage.db.engine import make_engine
from patronage.db.schema import metadata, upgrade
from patronage.markets.markets import ensure_configured_market

ADMIN_URL = os.environ.get(
    "PATRONAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_problem() -> str | None:
    try:
        eng = make_engine(ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {ADMIN_URL}: {type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = _postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
    name = f"patronage_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_postgres(eng: Engine) -> None:
    """Empty the tables the last test wrote to and restart every sequence.

    One probe finds the tables that hold a row; only those are truncated (a TRUNCATE of all the
    tables costs about 90 ms, the probe about 2 ms, and most tests write to a few tables). The
    sequences of the other tables restart too, since a rolled-back insert also moves them.
    """
    names = [t.name for t in metadata().sorted_tables]
    if not names:
        return
    probe = " UNION ALL ".join(
        f"SELECT '{name}' FROM (SELECT 1 FROM {name} LIMIT 1) AS r{i}"
        for i, name in enumerate(names))
    with eng.begin() as conn:
        used = [row[0] for row in conn.execute(text(probe))]
        if used:
            conn.execute(text(f"TRUNCATE {', '.join(used)} RESTART IDENTITY CASCADE"))
        conn.execute(text(
            "SELECT setval(c.oid, 1, false) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "patronage.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        eng = make_engine(request.getfixturevalue("postgres_url"))
        _truncate_postgres(eng)
        # The default market, as the composition roots make it from the settings (truncating
        # the tables removed the one the migrations made).
        settings = Settings()
        ensure_configured_market(eng, settings.market, currency=settings.currency,
                                 timezone=settings.company_timezone)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def db_url(engine: Engine) -> str:
    """The URL of the test database (for CLI tests)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 10, 15, 12, 0, tzinfo=UTC))


_STORAGE_FIXTURES = frozenset({"engine", "db_url", "postgres_url", "sqlite_template"})
_BROWSER_FIXTURES = frozenset({"browser", "site", "page"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, from the fixtures it uses: ``storage`` (a database) and
    ``browser`` (Chromium), so ``make test-fast`` can leave both out."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _STORAGE_FIXTURES:
            item.add_marker(pytest.mark.storage)
        if used & _BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
