"""The whole schema: every table module registered on the shared metadata, and migrations.

Each capability keeps its tables in a module of this package (``tables`` for the core records,
``autoship``, ``compensation``, ``care``, ...), imported here by name so that Alembic and the
tests see one complete schema (a new table module is added to :data:`TABLE_MODULES`).
Migrations live in ``migrations/versions``: the core chain plus one branch per capability
(``down_revision`` the core head, a ``branch_labels`` entry), all applied by ``upgrade heads``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

from patronage.db import (
    accounts,
    api_tokens,
    autoship,
    care,
    care_gifts,
    care_playbooks,
    compensation,
    compliance,
    credit,
    figures,
    import_jobs,
    job_runs,
    markets,
    payments,
    payout_methods,
    payouts,
    placements,
    shop,
    simulations,
    tables,
    value,
    volumes,
)
from patronage.db.base import Base
from patronage.db.engine import normalise_url

#: The modules that declare tables, each registering them on :data:`Base.metadata`.
TABLE_MODULES = (tables, accounts, api_tokens, autoship, care, compensation, value, markets,
                 import_jobs, compliance, payouts, payout_methods, payments, credit, shop,
                 simulations, placements, job_runs, care_playbooks, care_gifts,
                 figures, volumes)


def metadata() -> MetaData:
    """The metadata of every table (those of :data:`TABLE_MODULES`)."""
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
