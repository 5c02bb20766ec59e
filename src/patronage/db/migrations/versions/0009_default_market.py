"""default market: the markets table says which market is the company's default

The default market (where members not placed elsewhere buy; its currency is the plan currency)
becomes data: the market with code ``PATRONAGE_MARKET`` (default ``US``) when there is one, else
the first market made.

Revision ID: 0009_default_market
Revises: 0008_markets
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_default_market"
down_revision: str | Sequence[str] | None = "0008_markets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("markets", sa.Column("is_default", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    code = os.environ.get("PATRONAGE_MARKET", "US").strip().upper() or "US"
    conn = op.get_bind()
    chosen = conn.execute(sa.text("SELECT id FROM markets WHERE code = :c"),
                          {"c": code}).scalar()
    if chosen is None:
        chosen = conn.execute(sa.text("SELECT MIN(id) FROM markets")).scalar()
    if chosen is not None:
        conn.execute(sa.text("UPDATE markets SET is_default = :t WHERE id = :m"),
                     {"t": True, "m": chosen})


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE markets DROP COLUMN is_default")
    else:
        op.drop_column("markets", "is_default")
