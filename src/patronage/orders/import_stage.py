"""A staging table for one import: rows checked on their own are written here a chunk at a
time (COPY on PostgreSQL, ``executemany`` on SQLite, see :mod:`patronage.db.bulk`), checked
against each other and the store in SQL, then moved into the company's tables by one statement
each, all in the import's transaction. The table is temporary: it ends with the transaction's
connection, and a rolled-back import leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, text
from sqlalchemy.exc import DBAPIError

from patronage.db.bulk import write_rows


def _temporary(conn: Connection, name: str) -> str:
    """``name`` in the connection's schema of temporary tables. On SQLite a name left
    unqualified is also looked up in the main database, which starts a read of it: a write
    committed by another connection before the import takes the write lock would then make
    the import fail ("database is locked")."""
    return f"{'temp' if conn.dialect.name == 'sqlite' else 'pg_temp'}.{name}"


def create_stage(conn: Connection, name: str, columns: Sequence[Column[Any]]) -> Table:
    """A new temporary table ``name`` (a name of the code's, never user input)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {_temporary(conn, name)}"))
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(conn)
    return table


def stage_rows(conn: Connection, table: Table, columns: Mapping[str, Any]) -> None:
    """Append one chunk of rows (name → equal-length list or array)."""
    if columns and len(next(iter(columns.values()))):
        write_rows(conn, table.name, columns)


def stage_tuples(conn: Connection, table: Table, names: Sequence[str],
                 values: Sequence[Sequence[Any]]) -> None:
    """SQLite: append one chunk of rows given as tuples in the order of ``names``, values as
    the driver takes them (times as text), in one ``executemany``."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
                           f"({', '.join('?' * len(names))})", values)
    finally:
        cursor.close()


def index_stage(conn: Connection, table: Table, *columns: str,
                analysed: Sequence[str] = (), covering: Sequence[str] = ()) -> None:
    """Index the staged rows (after they are written: one sort instead of many inserts) and
    gather the planner's statistics; on PostgreSQL, of the ``analysed`` columns only when
    given (those the checks join and group on: sampling every text column costs more than
    the checks gain from it). On SQLite each index also holds the ``covering`` columns: a
    look-up that reads only those reads no staged row (a wide staging table larger than its
    page cache made each look-up a read from the file)."""
    extra = "".join(f", {c}" for c in covering) if conn.dialect.name == "sqlite" else ""
    for column in columns:
        conn.execute(text(f"CREATE INDEX ix{table.name}_{column} ON {table.name} "
                          f"({column}{extra})"))
    only = (f" ({', '.join(analysed)})" if analysed and conn.dialect.name == "postgresql"
            else "")
    conn.exec_driver_sql(f"ANALYZE {table.name}{only}")


#: On PostgreSQL, how much of an import's staging tables its session keeps in memory (the
#: server's default, 8 MB, makes every pass over a staging table of 200,000 members read most
#: of it back from the file).
STAGE_BUFFERS = "256MB"


@contextmanager
def import_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for one import, closed at the end instead of going back to the pool: its
    staging tables, and the settings made for them, end with it (closing is quicker than
    dropping a large staging table: SQLite deletes the file of its temporary tables, where a
    drop frees each page in turn). On PostgreSQL its session keeps up to
    :data:`STAGE_BUFFERS` of the staging tables in memory (``temp_buffers``, which a session
    can set only before it first touches a temporary table: a session that has is used as it
    is), which no other work then keeps."""
    with engine.connect() as conn:
        try:
            if conn.dialect.name == "postgresql":
                try:
                    conn.exec_driver_sql(f"SET temp_buffers = '{STAGE_BUFFERS}'")
                    conn.commit()
                except DBAPIError:
                    conn.rollback()  # the session has used temporary tables already
            yield conn
        finally:
            conn.invalidate()


def roomy_sorts(conn: Connection) -> None:
    """Room for the import's staging tables, sorts and hashes: on PostgreSQL 64 MB each before
    they spill to disk, and no compiling of statements to machine code (JIT: each of an
    import's statements runs once, over rows read once, and the planner's costs for tables
    without statistics, such as a staging table being filled, made it compile statements
    that ran in a sixth of the compiling time), settings of this transaction only; on SQLite
    a 64 MiB page cache for the connection's temporary tables (like the main database's),
    where 2 MiB made the checks read a large staging table back from its file."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
    else:
        conn.exec_driver_sql("PRAGMA temp.cache_size = -65536")


@contextmanager
def whole_joins(conn: Connection, on: bool) -> Iterator[None]:
    """PostgreSQL, ``on`` (an import under the bulk-keys rule, see :func:`loose_keys`: the
    tables it joins hold at most :data:`BULK_KEYS_SHARE` times its rows): inside the block,
    joins are hash or merge joins, each one pass over both sides, not nested loops looking
    each row up by index. The planner prefers the look-ups (memoized), which took 3.5 s to
    insert 200,000 staged members with three references each, against 1.8 s with hash joins.
    Correlated subqueries still look up by index. See docs/decisions/import-bulk-keys.md."""
    with join_setting(conn, nested_loops=False if on else None):
        yield


@contextmanager
def join_setting(conn: Connection, nested_loops: bool | None) -> Iterator[None]:
    """PostgreSQL: inside the block, nested-loop joins allowed or not (``None``: as they are),
    for this transaction only; afterwards, the setting is what it was before."""
    with planner_setting(conn, "enable_nestloop", nested_loops):
        yield


@contextmanager
def sorted_groups(conn: Connection) -> Iterator[None]:
    """PostgreSQL: inside the block, rows are grouped by sorting them, not by hashing (for a
    statement that groups and then sorts by the same key: one sort instead of a hash table and
    a sort)."""
    with planner_setting(conn, "enable_hashagg", False):
        yield


@contextmanager
def planner_setting(conn: Connection, name: str, on: bool | None) -> Iterator[None]:
    """PostgreSQL: inside the block, the planner's method ``name`` (``enable_...``) allowed or
    not (``None``: as it is), for this transaction only; afterwards, the setting is what it
    was before."""
    if on is None or conn.dialect.name != "postgresql":
        yield
        return
    was = str(conn.exec_driver_sql(f"SELECT current_setting('{name}')").scalar_one())
    conn.exec_driver_sql(f"SET LOCAL {name} = {'on' if on else 'off'}")
    try:
        yield
    finally:
        if not conn.invalidated and conn.in_transaction():
            conn.exec_driver_sql(f"SELECT set_config('{name}', %(was)s, true)", {"was": was})


def rows(conn: Connection, sql: str, params: Mapping[str, Any] | None = None,
         limit: int | None = None) -> list[tuple[Any, ...]]:
    """A check's rows (``limit``: at most that many)."""
    if limit is not None:
        sql = f"{sql} LIMIT {int(limit)}"
    return [tuple(r) for r in conn.execute(text(sql), dict(params or {}))]


def distinct_sql(conn: Connection) -> str:
    """The null-safe "differs" operator of the dialect."""
    return "IS NOT" if conn.dialect.name == "sqlite" else "IS DISTINCT FROM"


#: On PostgreSQL, an import writing at least this many rows checks the foreign keys of the
#: tables it fills once, in bulk, instead of row by row (:func:`loose_keys`).
BULK_KEYS_ROWS = 50_000
#: ... and only when no table the keys join holds more than this many times the rows written
#: (re-checking a key reads its whole table: for a few rows into a large store the row-by-row
#: checks cost less, and lock nothing).
BULK_KEYS_SHARE = 8
#: How long :func:`loose_keys` waits for the tables' locks before keeping the keys as they are.
BULK_KEYS_WAIT = "2s"


def loose_keys(conn: Connection, tables: Sequence[str], written: int) -> list[tuple[str, str, str]]:
    """PostgreSQL, ``written`` ≥ :data:`BULK_KEYS_ROWS` rows into tables (and the tables
    their keys name) of at most :data:`BULK_KEYS_SHARE` times as many rows: drop the foreign
    keys of ``tables`` inside the import's transaction, to add them back by
    :func:`restore_keys` (which checks every row at once) before it commits; returns what was
    dropped. This locks the tables (ACCESS EXCLUSIVE) until the transaction ends; when a lock
    is not free within :data:`BULK_KEYS_WAIT`, nothing is dropped and the keys check row by
    row. See docs/decisions/import-bulk-keys.md."""
    if conn.dialect.name != "postgresql" or written < BULK_KEYS_ROWS:
        return []
    from sqlalchemy.exc import OperationalError

    keys = [(str(t), str(n), str(d)) for t, n, d in conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%(tables)s::regclass[]) "
        "ORDER BY 1, 2", {"tables": list(tables)})]
    if not keys:
        return []
    # The rows each table holds: the planner's count, or (never counted) its size in bytes
    # over 64, more than any of these tables' rows take.
    largest = conn.exec_driver_sql(
        "SELECT COALESCE(MAX(GREATEST(t.reltuples, pg_relation_size(t.oid) / 64)), 0) "
        "FROM pg_class t WHERE t.oid IN (SELECT c.conrelid FROM pg_constraint c WHERE "
        "c.contype = 'f' AND c.conrelid = ANY(%(tables)s::regclass[]) UNION SELECT c.confrelid "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = "
        "ANY(%(tables)s::regclass[]))", {"tables": list(tables)}).scalar_one()
    if float(largest) > BULK_KEYS_SHARE * written:
        return []
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{BULK_KEYS_WAIT}'")
        for table, name, _ in keys:
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    except OperationalError:  # a lock not granted in time: keep the keys
        savepoint.rollback()
        return []
    savepoint.commit()
    return keys


def restore_keys(conn: Connection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Add back the keys :func:`loose_keys` dropped, each checked against every row at once; a
    row naming nothing fails the statement, and with it the whole import."""
    for table, name, definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def loose_indexes(conn: Connection, tables: Sequence[str], written: int,
                  keys: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """An import of ``written`` rows into ``tables``: drop their plain indexes (neither unique
    nor a primary key) inside the import's transaction, to build them again, each in one sort,
    by :func:`restore_indexes` once the rows are written (where each row's entries would
    otherwise go into every index one by one); returns the indexes dropped, by name and
    definition. The rule is that of :func:`loose_keys`: at least :data:`BULK_KEYS_ROWS` rows
    into tables of at most :data:`BULK_KEYS_SHARE` times as many; on PostgreSQL only when
    ``keys`` (what :func:`loose_keys` dropped) tells that the tables are locked already. The
    unique indexes stay: they still refuse a duplicate at once. See
    docs/decisions/import-bulk-keys.md."""
    if written < BULK_KEYS_ROWS:
        return []
    if conn.dialect.name == "postgresql":
        if not keys:
            return []
        return _drop_indexes(conn, [(str(n), str(d)) for n, d in conn.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = "
            "ANY(%(tables)s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY 1", {"tables": list(tables)})])
    largest = max(int(conn.exec_driver_sql(f"SELECT COALESCE(MAX(rowid), 0) FROM {t}")
                      .scalar_one()) for t in tables)
    if largest > BULK_KEYS_SHARE * written:
        return []
    plain: list[tuple[str, str]] = []
    for table in tables:
        for _, name, unique, origin, *_ in conn.exec_driver_sql(f"PRAGMA index_list({table})"):
            if origin == "c" and not unique:
                plain.append((str(name), str(conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                    (name,)).scalar_one())))
    return _drop_indexes(conn, sorted(plain))


def _drop_indexes(conn: Connection, indexes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return indexes


def restore_indexes(conn: Connection, indexes: Sequence[tuple[str, str]]) -> None:
    """Build again the indexes :func:`loose_indexes` dropped (on PostgreSQL with room to sort
    each in memory, for this transaction only)."""
    if indexes and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        conn.exec_driver_sql(definition)
