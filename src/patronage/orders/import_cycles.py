"""Cycles among the rows of one import: rows that refer to each other round a loop.

The references inside a file (a member's sponsor, owner or referrer given as another row of
the same file) must be writable one row after another, each referring only to rows written
before it: they must form no cycle. Only a reference to a row further down the file can close
a cycle, so a file whose references all point up (most exports, ordered by id or by joining)
needs no search at all, nor does a file whose references all lead to members who joined
before (see :func:`patronage.orders.members_import._against_joining`). For the others, a
search from every such reference up through all the references above it costs the sum of the
ancestries: seconds for 60,000 rows of a file ordered by name, minutes for 200,000.

So the rows that cannot lie on a cycle are set aside first. The references of rows that no row
refers to (most customers) go at once, in one statement. The rest go level by level, each level
one statement (:func:`unsettled`): the rows whose every in-file reference points to a row set aside
already (at first, the rows referred to that refer to no row of the file), and again, until a
level is empty. The statements read only the rows of the level just set aside and those
referring to them, through indexes: the work is linear in the references, in as many
statements as the longest chain of references inside the file. Whatever is left refers, through
some chain, to a cycle; of those, the rows that no row left refers to are set aside the same way
from the other end. What remains (nothing, for a file without a cycle) holds the cycles, and the
search for them, which reports each reference that closes one, runs over those rows only.
"""

from __future__ import annotations

from sqlalchemy import Connection

from patronage.orders.import_stage import join_setting

#: The temporary tables of the search (names of the code's own).
LINKS = "_import_links"
_SETTLED = "_import_settled"


def make_links(conn: Connection, links_sql: str) -> None:
    """The table :data:`LINKS` (``src``: a referring row's line, ``dst``: the line of the row
    it refers to) from ``links_sql``, a query giving those two columns."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {LINKS}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {LINKS} AS {links_sql}")
    conn.exec_driver_sql(f"CREATE INDEX ix{LINKS}_src ON {LINKS} (src)")
    conn.exec_driver_sql(f"CREATE INDEX ix{LINKS}_dst ON {LINKS} (dst)")
    conn.exec_driver_sql(f"ANALYZE {LINKS}")


def drop_links(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {LINKS}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_SETTLED}")


def unsettled(conn: Connection) -> int:
    """Keep in :data:`LINKS` only the references among rows that may lie on a cycle (see the
    module's text); returns how many references are left (0: there is no cycle)."""
    # Index look-ups, level by level: the planner's choice without the bulk writes' setting
    # (see import_stage.whole_joins), which would read every reference at every level.
    # First the references of rows no row refers to (most customers), in one statement: none
    # lies on a cycle, and each level below then has fewer rows to look at.
    conn.exec_driver_sql(f"DELETE FROM {LINKS} WHERE src NOT IN (SELECT dst FROM {LINKS})")
    with join_setting(conn, nested_loops=True):
        _set_aside(conn, "src", "dst")  # rows whose references all lead to rows set aside
        if not conn.exec_driver_sql(
                f"SELECT 1 FROM {LINKS} l WHERE NOT EXISTS (SELECT 1 FROM {_SETTLED} s "
                "WHERE s.line = l.src) LIMIT 1").first():
            return 0  # every row is set aside: no cycle
        _keep_unsettled(conn)
        _set_aside(conn, "dst", "src")  # rows no row left refers to
        _keep_unsettled(conn)
    return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {LINKS}").scalar_one())


def _set_aside(conn: Connection, near: str, far: str) -> None:
    """Fill the table of settled rows: a row settles once every link from it (its ``near``
    end) leads to a settled row (the ``far`` end); first the rows that are only ever a far
    end, then level by level."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_SETTLED}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_SETTLED} (line INTEGER PRIMARY KEY, "
                         "level INTEGER NOT NULL)")
    conn.exec_driver_sql(
        f"INSERT INTO {_SETTLED} (line, level) SELECT DISTINCT l.{far}, 0 FROM {LINKS} l "
        f"WHERE NOT EXISTS (SELECT 1 FROM {LINKS} p WHERE p.{near} = l.{far})")
    conn.exec_driver_sql(f"CREATE INDEX ix{_SETTLED}_level ON {_SETTLED} (level)")
    level = 0
    while True:
        level += 1
        added = conn.exec_driver_sql(
            f"INSERT INTO {_SETTLED} (line, level) SELECT DISTINCT l.{near}, {level} "
            f"FROM {_SETTLED} f JOIN {LINKS} l ON l.{far} = f.line WHERE f.level = {level - 1} "
            f"AND NOT EXISTS (SELECT 1 FROM {LINKS} p WHERE p.{near} = l.{near} AND NOT EXISTS "
            f"(SELECT 1 FROM {_SETTLED} s WHERE s.line = p.{far}))").rowcount
        if not added:
            return


def _keep_unsettled(conn: Connection) -> None:
    """Drop the links touching a settled row: no cycle goes through one."""
    conn.exec_driver_sql(
        f"DELETE FROM {LINKS} WHERE src IN (SELECT line FROM {_SETTLED}) "
        f"OR dst IN (SELECT line FROM {_SETTLED})")
