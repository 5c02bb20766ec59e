"""The migrations build exactly the schema the tables declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from patronage.db.schema import metadata


def test_migrated_database_matches_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata())
    assert diff == []
