"""value: where each fit and each member's values come from (fitted or a prior), and the
standard errors of the fitted parameters

Revision ID: 0003_value_fit_status
Revises: 0002_value
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_value_fit_status"
down_revision: str | Sequence[str] | None = "0002_value"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("value_fits") as batch:
        batch.add_column(sa.Column("source", sa.String(length=8), nullable=False,
                                   server_default="fitted"))
        batch.add_column(sa.Column("standard_errors", sa.Text(), nullable=False,
                                   server_default="{}"))
    with op.batch_alter_table("customer_values") as batch:
        batch.add_column(sa.Column("source", sa.String(length=8), nullable=False,
                                   server_default="fitted"))


def downgrade() -> None:
    with op.batch_alter_table("customer_values") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("value_fits") as batch:
        batch.drop_column("standard_errors")
        batch.drop_column("source")
