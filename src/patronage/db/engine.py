"""Connecting to the store: a SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
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
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
