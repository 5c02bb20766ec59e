"""Online backup of a SQLite store with sqlite3's backup API: a consistent copy taken while the
server and the jobs keep writing. PostgreSQL is backed up with its own tools (``pg_dump``,
continuous archiving; see docs/operations.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from patronage.errors import PatronageError


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL (refused for another database or an in-memory one)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise PatronageError(f"backup: {parsed.drivername} databases are backed up with their "
                             "own tools (PostgreSQL: pg_dump --format=custom, or continuous "
                             "archiving); see docs/operations.md#backups")
    if not parsed.database or parsed.database == ":memory:":
        raise PatronageError("backup: an in-memory database has nothing to back up")
    return Path(parsed.database)


def backup_sqlite(url: str, target: Path, *, pages: int = 1024) -> int:
    """Copy the SQLite store of ``url`` into ``target`` (a new file) while it stays in use,
    ``pages`` pages a step; returns the size of the copy in bytes."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise PatronageError(f"backup: {source_path} does not exist")
    if target.exists():
        raise PatronageError(f"backup: {target} exists already; name a new file")
    if not target.parent.exists():
        raise PatronageError(f"backup: folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=pages)
            check = copy.execute("PRAGMA integrity_check").fetchone()
            if check is None or check[0] != "ok":
                raise PatronageError(f"backup: the copy fails its integrity check: {check}")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    partial.rename(target)
    return target.stat().st_size
