"""weekly periods: each committed run names its calendar (a month, or an ISO week written
YYYY-Www, one character longer than a month)

Revision ID: 0030_weekly_periods
Revises: 0009_default_market
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_weekly_periods"
down_revision: str | Sequence[str] | None = "0009_default_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Runs committed before are all monthly.
    with op.batch_alter_table("commission_runs") as batch:
        batch.add_column(sa.Column("calendar", sa.String(5), nullable=False,
                                   server_default="month"))
        batch.alter_column("period", existing_type=sa.String(7), type_=sa.String(8),
                           existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM commission_runs WHERE calendar = 'week'")
    with op.batch_alter_table("commission_runs") as batch:
        batch.alter_column("period", existing_type=sa.String(8), type_=sa.String(7),
                           existing_nullable=False)
        batch.drop_column("calendar")
