"""A second reader process: on a large SQLite file, part of the reads run in a forked worker.

On SQLite a large read is mostly the driver making values, one core each, so a forked process
reading half the work while this one reads the rest halves the wait on a 2-core machine.
(PostgreSQL's reads are mostly the server's work: two readers gain nothing there.)

A forked process starts from this one's memory without running any of its code again (a
spawned one would import the main script again). Forking is safe only while this process has a
single thread (a command, a script): a server's threads could hold locks the copy would inherit,
so :func:`can_fork` says no there and the reads stay in one process.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import Any, TypeVar

from sqlalchemy import Engine

from patronage.arrays import Matrix
from patronage.db.engine import make_engine
from patronage.fastpath.reads import integer_matrix

T = TypeVar("T")

#: One all-integer query: SQL (``:name`` parameters), parameters, number of columns.
Query = tuple[str, dict[str, Any], int]


def can_fork() -> bool:
    """Whether a worker may be forked now: Linux, and this process has a single thread."""
    return (sys.platform == "linux" and "fork" in get_all_start_methods()
            and threading.active_count() == 1)


def sqlite_file(engine: Engine) -> bool:
    """A SQLite database another process can open (a file, not one in memory)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def beside(engine: Engine, queries: list[Query],
           here: Callable[[], T]) -> tuple[list[Matrix], T]:
    """``queries`` read by a forked worker on a connection of its own while this process
    computes ``here()``; both results. The reads see the database each at its own moment, as
    two statements on one connection do. The caller checks :func:`can_fork` first (tests
    force the worker on to compare it with one reader)."""
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        url = engine.url.render_as_string(hide_password=False)
        theirs: Future[list[Matrix]] = pool.submit(read_matrices, url, queries)
        ours = here()
        return theirs.result(), ours


def read_matrices(url: str, queries: list[Query]) -> list[Matrix]:
    """:func:`integer_matrix` of each query, on a connection of its own (run in a forked worker
    process, which leaves the connections it inherited alone: it ends without closing them)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [integer_matrix(conn, *query) for query in queries]
    finally:
        engine.dispose()
