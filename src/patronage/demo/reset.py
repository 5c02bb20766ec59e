"""Emptying a database completely (every table dropped, then the schema made anew)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from patronage.db.schema import metadata, upgrade


def reset_database(engine: Engine) -> None:
    """Drop every Patronage table and migrate again: an empty company."""
    md = metadata()
    with engine.begin() as conn:
        md.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
