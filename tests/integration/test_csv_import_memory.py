"""A members file is imported in memory bounded by the chunk size, not by the file's size."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patronage.db.engine import make_engine
from patronage.db.schema import upgrade
from patronage.orders.csv_import import import_members

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
pytestmark = pytest.mark.slow


def _file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("ref,kind,first_name,last_name,email,owner_ref,joined_at,city,country\n")
        out.write("D0,distributor,Dana,Lee,dana@example.com,,2026-01-01T00:00:00Z,Paris,FR\n")
        for i in range(1, n):
            out.write(f"C{i},retail,Name{i},Last{i},c{i}@example.com,D0,2026-01-02T00:00:00Z,"
                      f"Lyon,FR\n")
    return path


def _peak(tmp_path: Path, n: int) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / f'm{n}.db'}")
    upgrade(engine)
    source = _file(tmp_path / f"m{n}.csv", n)
    tracemalloc.start()
    try:
        assert import_members(engine, source, now=NOW).written == n
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        engine.dispose()


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, large = _peak(tmp_path, 6_000), _peak(tmp_path, 24_000)
    # Four times the rows, about the same peak (the whole file held would be four times).
    assert large < small * 1.5, (small, large)
