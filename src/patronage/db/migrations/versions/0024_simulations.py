"""simulations: growth and plan simulations kept for staff

Revision ID: 0024_simulations
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import patronage.db.base

revision: str = "0024_simulations"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = patronage.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "simulations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column("plan_version", sa.String(length=64), nullable=False),
        sa.Column("plan_text", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("models", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("market", sa.BigInteger(), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("seconds_simulation", sa.Float(), nullable=False),
        sa.Column("seconds_engine", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulations")),
    )


def downgrade() -> None:
    op.drop_table("simulations")
