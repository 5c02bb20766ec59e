"""Connecting to the store: a SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as exc_module
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Pages read through a memory map and 64 MiB of page cache a connection: a page
            # that reads thousands of index entries does no system call for each.
            cursor.execute("PRAGMA mmap_size=4294967296")
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.close()
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
            # SAVEPOINTs nest inside the transaction (the documented pysqlite recipe).
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(url, **kwargs)
    ping_when_idle(engine)
    return engine


#: A pooled connection unused for longer than this is checked with ``SELECT 1`` before it is
#: handed out; one used more recently is handed out as it is.
PING_AFTER_IDLE = 2.0


def ping_when_idle(engine: Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Check a pooled connection before use only when it has been idle for ``idle`` seconds.

    A connection the database dropped (a restart, a fail-over, an idle timeout) is replaced
    instead of failing the request; one that answered a moment ago is trusted, saving a round
    trip on every request of a busy server (see docs/decisions/connection-checks.md). When a
    statement does meet a dropped connection, SQLAlchemy discards every connection of the pool
    opened before it."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _note_use(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("checked_in")
        if last is not None and time.monotonic() - last < idle:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool opens a new connection instead
            raise exc_module.DisconnectionError(f"connection check failed: {exc}") from exc


def make_pooled_engine(url: str, pool: dict[str, int]) -> Engine:
    """:func:`make_engine` with the pool sized by ``pool`` (``pool_size``, ``max_overflow``) on
    PostgreSQL; SQLite keeps SQLAlchemy's own pool."""
    if normalise_url(url).startswith("sqlite"):
        return make_engine(url)
    return make_engine(url, **pool)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back everything on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


class ReadOnlySession(RuntimeError):
    """Something was written through a session made for reading (:func:`reading`): a mistake
    in the code, never the user's."""


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySession("this session reads only: write in a transaction instead")


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads a page shows and a later transaction checks again.

    On PostgreSQL its statements run outside a transaction (autocommit: no BEGIN and COMMIT
    around them, two round trips fewer), so each statement reads what was committed when it
    began, not one snapshot for all of them; elsewhere the reads share one transaction, rolled
    back at the end. Anything added or changed in it is refused at the flush
    (:class:`ReadOnlySession`); see docs/decisions/reads-outside-transactions.md."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn, \
                Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
            event.listen(session, "before_flush", _refuse_writes)
            yield session
        return
    with session_factory(engine)() as session:
        event.listen(session, "before_flush", _refuse_writes)
        yield session
