"""`patronage backup FILE`: a consistent copy of the SQLite store taken while it is written to,
which restores into a whole company (`patronage check` finds no problem)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from patronage.cli.main import app as cli
from patronage.db.engine import make_engine, transaction
from patronage.db.tables import Member
from patronage.errors import PatronageError
from patronage.integrity import check_integrity
from patronage.operations.backup import backup_sqlite
from tests import factories as f
from tests.e2e.world import NOW, seed


def test_backup_while_writing_then_restore(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    world = seed(engine)
    stop = threading.Event()

    def keep_writing() -> None:  # the server goes on taking customers during the backup
        i = 0
        while not stop.is_set():
            with transaction(engine) as s:
                f.customer(s, world.ann, name=f"During {i}")
            i += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = CliRunner().invoke(cli, ["--db", url, "backup", str(tmp_path / "copy.db")])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Restore: the copy put in place of a lost database.
    restored_path = tmp_path / "restored.db"
    shutil.copy(copy, restored_path)
    restored = make_engine(f"sqlite:///{restored_path}")
    with transaction(restored) as s, transaction(engine) as live:
        members = s.scalar(select(func.count()).select_from(Member)) or 0
        assert 7 <= members <= (live.scalar(select(func.count()).select_from(Member)) or 0)
        # Whole transactions only: every customer written has the owner it was written with.
        assert s.scalar(text("SELECT count(*) FROM members WHERE first_name LIKE 'During %' "
                             "AND owner_id IS NULL")) == 0
    assert check_integrity(restored, NOW).ok
    # A second backup to the same name is refused; PostgreSQL is pointed to its own tools.
    with pytest.raises(PatronageError, match="exists already"):
        backup_sqlite(url, copy)
    with pytest.raises(PatronageError, match="pg_dump"):
        backup_sqlite("postgresql://u@h/db", tmp_path / "x.db")
