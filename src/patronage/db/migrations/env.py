"""Alembic environment: runs on the connection handed in by :func:`patronage.db.schema.upgrade`,
or on the URL in the config when called from the ``alembic`` command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from patronage.db.engine import make_engine
from patronage.db.schema import metadata

config = context.config
target_metadata = metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    with make_engine(url).begin() as conn:
        _run(conn)
