"""rank history: each distributor's rank qualified for in a committed period, before the
plan's rules over time, kept in their rank record

Revision ID: 0020_rank_history
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_rank_history"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Runs committed before stay NULL: their paid-as rank is read as the rank qualified for.
    op.add_column("rank_records", sa.Column("qualified", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rank_records") as batch:
        batch.drop_column("qualified")
