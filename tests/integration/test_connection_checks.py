"""Pooled PostgreSQL connections are checked before use only after they have been idle
(patronage.db.engine.ping_when_idle; docs/decisions/connection-checks.md)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from patronage.db.engine import PING_AFTER_IDLE, make_engine


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(admin_url: str, pid: int) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        # The backend is gone once it no longer shows among the server's processes.
        for _ in range(100):
            with admin.connect() as conn:
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE pid = :pid"), {"pid": pid}).scalar():
                    return
            time.sleep(0.05)
        raise AssertionError(f"backend {pid} still running")
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(engine)
        terminate(postgres_url, first)
        time.sleep(PING_AFTER_IDLE + 0.2)
        second = backend_pid(engine)  # the check finds the dead connection and opens another
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_checked(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(engine)
        terminate(postgres_url, first)
        # No check within the idle time: the dead connection is handed out and its statement
        # fails; the pool then drops it, and the next request gets a new one.
        with pytest.raises(OperationalError):
            backend_pid(engine)
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
