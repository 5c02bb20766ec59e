"""The whole schema: every table module registered on the shared metadata, and migrations.

Each capability keeps its tables in a module of this package (``tables`` for the core records,
``autoship``, ``compensation``, ``care``, ...). :func:`metadata` imports them all so Alembic and
the tests see one complete schema. Migrations live in ``migrations/versions``: the core chain
plus one branch per capability (``down_revision`` the core head, a ``branch_labels`` entry), all
applied by ``upgrade heads``.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

import patronage.db as db_package
from patronage.db.base import Base
from patronage.db.engine import normalise_url

_NOT_TABLES = {"base", "engine", "schema", "loaders", "bulk", "migrations",
               "session"}


def metadata() -> MetaData:
    """The metadata with every table module of :mod:`patronage.db` imported."""
    for info in pkgutil.iter_modules(db_package.__path__):
        if info.name not in _NOT_TABLES and not info.name.startswith("_"):
            importlib.import_module(f"patronage.db.{info.name}")
    return Base.metadata


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
